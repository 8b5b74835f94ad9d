// A worker that posts a message every N milliseconds (N is the first message it receives): a
// hidden tab's own timers are slowed to once a second, a worker's are not (background.js).
let timer = null;
onmessage = ({ data }) => {
  clearInterval(timer);
  timer = setInterval(() => postMessage(0), Number(data) || 33);
};
