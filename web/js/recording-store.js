// Where a recording goes while it is made: the browser's private storage for this site (the origin
// private file system), one file for each second the encoder hands over, so that a long call does
// not fill the page's memory, and a tab that crashes or is closed leaves its recording to be saved
// on the next visit (`leftRecordings`). Where the browser has no such storage, the page's memory.

const FOLDER = "anteroom-recordings";
/** Written into a recording's folder once its file was handed to the browser's downloads. */
const SAVED = "saved";
/** Held by the tab that records, so that another tab does not take its recording for one left. */
const lockName = (id) => `anteroom-recording-${id}`;

/** The folder of recordings; `create`: made if there is none (else null then). */
async function recordingsFolder({ create }) {
  const root = await navigator.storage?.getDirectory?.();
  if (!root) return null;
  return root.getDirectoryHandle(FOLDER, { create }).catch((err) => {
    if (!create && err.name === "NotFoundError") return null;
    throw err;
  });
}

/** The parts of a recording's folder, in order, as one file. */
async function joined(folder, type) {
  const parts = [];
  for await (const [name, handle] of folder.entries()) {
    if (handle.kind === "file" && name.endsWith(".part")) parts.push([name, handle]);
  }
  parts.sort(([a], [b]) => a.localeCompare(b));
  return new Blob(await Promise.all(parts.map(([, handle]) => handle.getFile())), { type });
}

export class RecordingSink {
  /** A sink for the recording `id` (its start time): its folder, or memory where there is none. */
  static async open(id, type) {
    const sink = new RecordingSink(id, type);
    try {
      const folder = await recordingsFolder({ create: true });
      if (folder) {
        sink.folder = await folder.getDirectoryHandle(String(id), { create: true });
        sink.parent = folder;
        // Held until the page goes (or the recording is saved).
        navigator.locks?.request(lockName(id), () => new Promise((release) => { sink.release = release; }))
          .catch((err) => console.warn("another tab may take this recording for one left:", err));
      }
    } catch (err) {
      console.warn("the recording is kept in the page's memory:", err);
    }
    return sink;
  }

  constructor(id, type) {
    this.id = id;
    this.type = type;
    this.folder = null;
    this.memory = [];
    this.count = 0;
    this.queue = Promise.resolve();
  }

  /** One piece of the recording, after the others. */
  add(blob) {
    const index = this.count++;
    this.queue = this.queue.then(async () => {
      if (this.folder && this.memory.length === 0) {
        try {
          const handle = await this.folder.getFileHandle(`${String(index).padStart(6, "0")}.part`, { create: true });
          const writable = await handle.createWritable();
          await writable.write(blob);
          await writable.close();
          return;
        } catch (err) {
          // (Storage full, say.) The rest is kept in memory, after what was written.
          console.warn("the recording goes on in the page's memory:", err);
        }
      }
      this.memory.push(blob);
    });
  }

  /** The whole recording, once every piece given is kept. */
  async file() {
    await this.queue;
    const written = this.folder ? await joined(this.folder, this.type) : null;
    return new Blob([...(written ? [written] : []), ...this.memory], { type: this.type });
  }

  /** Its file was handed to the downloads: the folder goes once the browser has read it. */
  saved() {
    this.release?.();
    if (this.folder) forget(this.parent, this.folder);
  }
}

/** Marks a recording's folder saved, and removes it a minute later (the download reads it first). */
async function forget(parent, folder) {
  try {
    await (await folder.getFileHandle(SAVED, { create: true })).createWritable().then((w) => w.close());
  } catch {
    // Not marked: it may be offered once more on a later visit.
  }
  setTimeout(() => parent.removeEntry(folder.name, { recursive: true }).catch(() => {}), 60_000);
}

/**
 * Recordings a tab began and never saved (it crashed or was closed while recording), oldest first:
 * `[{startedAt, file(), saved(), discard()}]` (`saved`: its file was handed to the downloads).
 * Folders of recordings saved already are removed on the way.
 */
export async function leftRecordings(type = "video/webm") {
  let folder;
  try {
    // A browser that never recorded here has nothing to look through (nor a folder made for it).
    folder = await recordingsFolder({ create: false });
  } catch {
    return [];
  }
  if (!folder) return [];
  const held = new Set((await navigator.locks?.query?.())?.held?.map((lock) => lock.name) ?? []);
  const left = [];
  for await (const [name, handle] of folder.entries()) {
    if (handle.kind !== "directory" || held.has(lockName(name))) continue;
    const saved = await handle.getFileHandle(SAVED).then(() => true, () => false);
    const discard = () => folder.removeEntry(name, { recursive: true }).catch(() => {});
    if (saved) {
      await discard();
      continue;
    }
    left.push({ startedAt: Number(name), file: () => joined(handle, type), saved: () => forget(folder, handle), discard });
  }
  return left.sort((a, b) => a.startedAt - b.startedAt);
}
