import { chromium, type Browser } from 'playwright-core';

/** Headless Chromium for the page tests: Debian's /usr/bin/chromium unless CHROMIUM_PATH names another. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
