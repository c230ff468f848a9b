// `make sdk-flow`: the padlocks of /docs, as Swagger UI draws them, on a live service.
//
//   node sdk/docs_padlocks.js http://127.0.0.1:PORT
//
// Loads /docs in jsdom (Swagger UI's own scripts, served by agora), and checks every
// operation's padlock against openapi.json: an operation without security has none;
// every operation that takes a login (required, or optional: `{}` among its
// requirements) shows the open padlock before authorizing and the closed one after a
// bearer token is given. Before src/docs.rs, the 7 optional-login operations showed the
// closed padlock before anyone authorized, because Swagger UI counts `{}` as satisfied.
"use strict";

const { JSDOM, VirtualConsole } = require("jsdom");

const base = process.argv[2];
if (!base) {
  console.error("usage: node sdk/docs_padlocks.js BASE_URL");
  process.exit(2);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// "<METHOD> <path>" -> "locked" | "unlocked" | "none", for every operation on the page.
function padlocks(document) {
  const found = {};
  for (const summary of document.querySelectorAll(".opblock-summary")) {
    const path = summary.querySelector(".opblock-summary-path").getAttribute("data-path");
    const method = summary.querySelector(".opblock-summary-method").textContent.toLowerCase();
    const button = summary.querySelector(".authorization__btn");
    found[`${method} ${path}`] = button
      ? button.getAttribute("aria-label").replace("authorization button ", "")
      : "none";
  }
  return found;
}

async function main() {
  const doc = await (await fetch(new URL("/openapi.json", base))).json();
  const expected = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const requirements = op.security || doc.security || [];
      const takesLogin = requirements.some((r) => Object.keys(r).length > 0);
      expected[`${method} ${path}`] = {
        takesLogin,
        optional: takesLogin && requirements.some((r) => Object.keys(r).length === 0),
      };
    }
  }

  const dom = await JSDOM.fromURL(new URL("/docs/", base).href, {
    runScripts: "dangerously",
    resources: "usable",
    pretendToBeVisual: true,
    virtualConsole: new VirtualConsole(), // Swagger UI's CSS is more than jsdom parses
    beforeParse(window) {
      window.fetch = (url, options) => fetch(new URL(String(url), base), options);
      Object.assign(window, { Headers, Request, Response, FormData });
    },
  });
  const { document } = dom.window;
  const operations = Object.keys(expected).length;
  for (let i = 0; i < 150 && document.querySelectorAll(".opblock-summary").length < operations; i++) {
    await sleep(200);
  }
  const before = padlocks(document);
  // Every scheme a user can fill in: /v1's bearer and /api's `Token <token>` header.
  dom.window.ui.preauthorizeApiKey("bearer", "a-token-for-the-padlocks");
  dom.window.ui.preauthorizeApiKey("realworld_token", "Token a-token-for-the-padlocks");
  await sleep(500);
  const after = padlocks(document);
  dom.window.close();

  const problems = [];
  let optional = 0;
  for (const [op, { takesLogin, optional: isOptional }] of Object.entries(expected)) {
    const want = takesLogin ? ["unlocked", "locked"] : ["none", "none"];
    const got = [before[op], after[op]];
    if (got[0] !== want[0] || got[1] !== want[1]) {
      problems.push(`${op}: padlock ${got.join(" -> ")}, expected ${want.join(" -> ")}`);
    }
    if (isOptional) optional += 1;
  }
  if (problems.length) {
    console.error(`docs-padlocks: ${problems.length} operations drawn wrongly in /docs:`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  const login = Object.values(expected).filter((e) => e.takesLogin).length;
  console.log(
    `docs-padlocks: ${operations} operations in /docs; the ${login} that take a login ` +
      `(${optional} of them optionally) show the open padlock until authorized, the closed one after`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
