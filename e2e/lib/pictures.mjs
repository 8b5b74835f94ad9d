// Pictures for the tests: a PNG of one colour (a person's picture, a room's logo, a background),
// and a video for a fake camera to show (Chromium's --use-file-for-fake-video-capture).
import { writeFileSync } from "node:fs";
import http from "node:http";
import { deflateSync } from "node:zlib";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A Y4M file of a black-and-white checkerboard (16-pixel squares, 640×360, grey in colour): as
 * sharp a picture as a camera can show, so that a blur of it is plain to measure. Chromium's fake
 * camera shows its frames in a loop.
 */
export function checkerboardVideo() {
  const [width, height, square] = [640, 360, 16];
  const luma = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      luma[y * width + x] = (Math.floor(x / square) + Math.floor(y / square)) % 2 ? 235 : 16;
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), luma, chroma, chroma]);
  const file = path.join(tmpdir(), `anteroom-checkerboard-${process.pid}.y4m`);
  writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`), frame, frame]));
  return file;
}

/** A plain PNG of one colour (8-bit RGB), written by hand so the tests need no image library. */
export function png(width, height, rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4);
  header[8] = 8; header[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3).fill(Buffer.from(rgb))]);
  const pixels = deflateSync(Buffer.concat(Array(height).fill(row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0))]);
}

/**
 * People's pictures (avatarUrl), served on loopback: `/pat.png` is an orange square, anything else
 * is missing (404). `asked` counts the requests for each path; `origin` is for `--avatar-origins`.
 */
export async function pictureServer() {
  const picture = png(64, 64, [255, 140, 0]);
  const asked = new Map();
  const server = http.createServer((request, response) => {
    asked.set(request.url, (asked.get(request.url) || 0) + 1);
    if (request.url !== "/pat.png") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": "image/png", "Cache-Control": "no-store" });
    response.end(picture);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { asked, origin, close: () => server.close() };
}
