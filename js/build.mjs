// Bundle the widgets into ../pt_widgets/static: widget.js (one self-contained ESM, no CDN
// imports) and widget.css. `node build.mjs` builds minified; `node build.mjs --watch`
// rebuilds on change with inline source maps (pair it with ANYWIDGET_HMR=1 in a notebook).

import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "..", "pt_widgets", "static");
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: [
    { in: path.join(here, "src", "index.ts"), out: "widget" },
    { in: path.join(here, "src", "styles.css"), out: "widget" },
  ],
  outdir,
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  legalComments: "none",
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
