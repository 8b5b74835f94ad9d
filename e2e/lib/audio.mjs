// Sound for a fake microphone to play (Chromium's --use-file-for-fake-audio-capture).
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A WAV file of loud speech-like sound (mono, 16-bit, 48 kHz) for a fake microphone to play:
 * syllables with a moving pitch and its harmonics. A steady tone will not do: the browser's noise
 * suppression takes it for noise and turns it down within a second or two.
 */
export function loudSpeech(seconds = 8) {
  const rate = 48000;
  const samples = rate * seconds;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36);
  wav.writeUInt32LE(samples * 2, 40);
  const syllable = 0.25;
  const voiced = 0.18;
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const index = Math.floor(t / syllable);
    const into = t - index * syllable;
    const envelope = into < voiced ? Math.sin(Math.PI * (into / voiced)) : 0;
    const pitch = 140 + 60 * Math.sin(index * 1.7) + 40 * Math.sin(2 * Math.PI * 3 * t);
    let sound = 0;
    for (let harmonic = 1; harmonic <= 5; harmonic++) sound += Math.sin(2 * Math.PI * pitch * harmonic * t) / harmonic;
    wav.writeInt16LE(Math.round(Math.max(-1, Math.min(1, (envelope * 0.8 * sound) / 1.5)) * 32767), 44 + i * 2);
  }
  const file = path.join(tmpdir(), `anteroom-loud-${process.pid}.wav`);
  writeFileSync(file, wav);
  return file;
}
