// What a test module shares: one server and one browser, made before its first test and closed
// after its last (tests that do not interfere share them; starting each costs seconds).
import { before, after } from "node:test";

import { startServer } from "./server.mjs";
import { launch } from "./browser.mjs";

/**
 * Registers the module's `before` and `after`; the object returned has `server` (startServer's,
 * with `serverArgs`) and `browser` (launch's, with `browserOptions`) once `before` has run.
 */
export function sharedServerAndBrowser(serverArgs = [], browserOptions = undefined) {
  const shared = { server: null, browser: null };
  before(async () => {
    shared.server = await startServer(serverArgs);
    shared.browser = await launch(browserOptions);
  });
  after(async () => {
    await shared.browser?.close();
    await shared.server?.stop();
  });
  return shared;
}
