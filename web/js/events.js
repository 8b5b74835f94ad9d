// An EventTarget that says what it means: `emit(type, detail)` and `on(type, handler)`, where the
// handler gets the detail and `on` returns the function that stops listening.

export class Emitter extends EventTarget {
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, handler) {
    const listener = (event) => handler(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }
}
