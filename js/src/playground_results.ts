// How a playground result shows: the answer and usage line, a per-token probability chart
// and table (logprobs), and for embeddings the vectors and their cosine similarities.
import { clear, h, svg, table } from "./dom";
import { formatNumber, probabilities, showToken, similarityAlpha } from "./format";

export interface TokenRow {
  position: number;
  token: string;
  logprob: number | null;
  probability: number | null;
  rank: number | null;
  top: { token: string; logprob: number | null }[];
}

export interface GenerationResult {
  mode: string;
  endpoint: string;
  text: string;
  finish_reason: string | null;
  usage: { prompt_tokens: number | null; completion_tokens: number | null; total_tokens: number | null };
  latency_s: number;
  ttft_s: number | null;
  served_model?: string | null; // the served entity that answered
  logprobs: TokenRow[];
}

export interface EmbeddingsResult {
  mode: "embeddings";
  endpoint: string;
  dimensions: number;
  rows: { index: number; input: string; dimensions: number; norm: number; preview: number[] }[];
  similarity: { labels: string[]; matrix: number[][] };
  note: string;
  latency_s: number;
  served_model?: string | null;
}

/** An SVG bar chart of per-token probabilities (exp(logprob)). */
export function logprobChart(tokens: TokenRow[]): SVGSVGElement {
  const width = Math.max(240, Math.min(900, 30 + tokens.length * 14));
  const height = 90;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "ptw-chart",
    role: "img",
    "data-testid": "logprob-chart",
    "aria-label": "Probability of each generated token",
  }) as SVGSVGElement;
  const probs = probabilities(tokens.map((t) => t.logprob));
  const barW = tokens.length ? (width - 30) / tokens.length : 0;
  chart.append(svg("line", { x1: 28, y1: height - 12, x2: width, y2: height - 12, class: "ptw-axis" }));
  for (const [label, y] of [
    ["1", 6],
    ["0.5", (height - 18) / 2 + 6],
    ["0", height - 12],
  ] as const) {
    chart.append(svg("text", { x: 0, y: Number(y) + 3, class: "ptw-axis-label" }, label));
  }
  probs.forEach((p, i) => {
    const barH = Math.max(1, p * (height - 18));
    const rect = svg("rect", {
      x: 30 + i * barW,
      y: height - 12 - barH,
      width: Math.max(1, barW - 1),
      height: barH,
      class: p < 0.5 ? "ptw-bar ptw-bar-low" : "ptw-bar",
    });
    rect.append(svg("title", {}, `${showToken(tokens[i].token)}: p=${formatNumber(p, 3)}`));
    chart.append(rect);
  });
  return chart;
}

export function tokenTable(tokens: TokenRow[]): HTMLTableElement {
  return table(
    [
      ["position", "#"],
      ["token", "token"],
      ["logprob", "logprob"],
      ["probability", "probability"],
      ["top", "top alternatives"],
    ],
    tokens,
    {
      testid: "token-table",
      format: (key, value) => {
        if (key === "token") return h("code", { text: showToken(String(value)) });
        if (key === "logprob") return formatNumber(value, 3);
        if (key === "probability") return formatNumber(value, 3);
        if (key === "top") {
          return (value as TokenRow["top"])
            .map(
              (t) =>
                `${showToken(t.token)} (${formatNumber(t.logprob === null ? null : Math.exp(t.logprob), 2)})`,
            )
            .join(", ");
        }
        return value;
      },
    },
  );
}

export function vectorsTable(result: EmbeddingsResult): HTMLTableElement {
  const dims = result.rows[0]?.preview.length ?? 0;
  return table(
    [
      ["index", "#"],
      ["input", "text"],
      ["dimensions", "dims"],
      ["norm", "norm"],
      ["preview", `first ${dims} values`],
    ],
    result.rows,
    {
      testid: "vectors-table",
      format: (key, value) => {
        if (key === "preview")
          return h("code", { text: `[${(value as number[]).map((v) => v.toFixed(3)).join(", ")}, …]` });
        if (key === "norm") return formatNumber(value, 3);
        return value;
      },
    },
  );
}

export function similarityTable(result: EmbeddingsResult): HTMLTableElement {
  const labels = result.similarity.labels.map((l, i) => `${i}: ${l.length > 24 ? `${l.slice(0, 23)}…` : l}`);
  const columns: [string, string][] = [
    ["label", ""],
    ...labels.map((_, i) => [String(i), String(i)] as [string, string]),
  ];
  const rows = result.similarity.matrix.map((row, i) => {
    const out: Record<string, string | number> = { label: labels[i] };
    row.forEach((v, j) => {
      out[String(j)] = v;
    });
    return out;
  });
  const t = table(columns, rows, {
    testid: "similarity-table",
    className: "ptw-similarity",
    format: (key, value) => {
      if (key === "label") return value;
      const cell = h("span", { class: "ptw-heat", text: formatNumber(value, 3) });
      cell.style.setProperty("--ptw-heat", String(similarityAlpha(value)));
      return cell;
    },
  });
  t.querySelectorAll("thead th").forEach((th, i) => {
    if (i > 0) th.setAttribute("title", labels[i - 1]);
  });
  return t;
}

function showEmbeddings(output: HTMLElement, r: EmbeddingsResult): void {
  output.append(
    h("div", {
      class: "ptw-usage",
      "data-testid": "usage",
      text: [
        `${r.rows.length} vectors × ${r.dimensions} dimensions · ${formatNumber(r.latency_s)} s`,
        answeredBy(r.served_model),
      ]
        .filter(Boolean)
        .join(" · "),
    }),
    r.note ? h("div", { class: "ptw-muted", text: r.note }) : "",
    h("h4", { text: "Vectors" }),
    h("div", { class: "ptw-scroll" }, vectorsTable(r)),
    h("h4", { text: "Cosine similarity" }),
    h("div", { class: "ptw-scroll" }, similarityTable(r)),
  );
}

/** "answered by chat-2" when the workspace named the served entity that answered. */
export function answeredBy(servedModel: string | null | undefined): string {
  return servedModel ? `answered by ${servedModel}` : "";
}

/** "12 prompt + 2 completion tokens · 0.5 s · first token 0.1 s · finish: length · answered by x". */
export function usageLine(r: GenerationResult): string {
  const u = r.usage || {};
  return [
    `${u.prompt_tokens ?? "?"} prompt + ${u.completion_tokens ?? "?"} completion tokens`,
    `${formatNumber(r.latency_s)} s`,
    r.ttft_s !== null && r.ttft_s !== undefined ? `first token ${formatNumber(r.ttft_s)} s` : "",
    r.finish_reason ? `finish: ${r.finish_reason}` : "",
    answeredBy(r.served_model),
  ]
    .filter(Boolean)
    .join(" · ");
}

/** Replace the output with a result (a run's, or one computed in Python). */
export function showResult(output: HTMLElement, result: GenerationResult | EmbeddingsResult | null): void {
  clear(output);
  if (!result) return;
  if (result.mode === "embeddings") {
    showEmbeddings(output, result as EmbeddingsResult);
    return;
  }
  const r = result as GenerationResult;
  output.append(
    h("div", { class: "ptw-answer", "data-testid": "answer", text: r.text }),
    h("div", { class: "ptw-usage", "data-testid": "usage", text: usageLine(r) }),
  );
  if (r.logprobs?.length) {
    output.append(
      h("h4", { text: "Token probabilities" }),
      logprobChart(r.logprobs),
      h("div", { class: "ptw-scroll" }, tokenTable(r.logprobs)),
    );
  }
}
