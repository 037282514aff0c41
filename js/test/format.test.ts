import { describe, expect, it } from "vitest";
import {
  clampRange,
  endpointNameProblem,
  estimate,
  formatDuration,
  formatInt,
  formatNumber,
  probabilities,
  shortTask,
  showToken,
  snap,
  splitStops,
  splitTexts,
  TOKENS,
  UNITS,
} from "../src/format";

describe("clampRange", () => {
  it("keeps a valid range", () => {
    expect(clampRange(2, 4, 20, TOKENS, false)).toEqual({ minChunks: 2, maxChunks: 4 });
  });
  it("never lets min pass max: the moved thumb wins", () => {
    expect(clampRange(6, 4, 20, TOKENS, false, "min")).toEqual({ minChunks: 6, maxChunks: 6 });
    expect(clampRange(6, 4, 20, TOKENS, false, "max")).toEqual({ minChunks: 4, maxChunks: 4 });
  });
  it("needs at least one chunk without scale-to-zero, and 0 with it", () => {
    expect(clampRange(0, 3, 20, TOKENS, false)).toEqual({ minChunks: 1, maxChunks: 3 });
    expect(clampRange(2, 3, 20, TOKENS, true)).toEqual({ minChunks: 0, maxChunks: 3 });
  });
  it("clamps to the limit and rounds fractional positions to whole chunks", () => {
    expect(clampRange(1.4, 25.7, 20, TOKENS, false)).toEqual({ minChunks: 1, maxChunks: 20 });
    expect(clampRange(1, 7.4, 20, TOKENS, false)).toEqual({ minChunks: 1, maxChunks: 7 });
  });
  it("model units have one value", () => {
    expect(clampRange(3, 2, 20, UNITS, false)).toEqual({ minChunks: 0, maxChunks: 2 });
    expect(clampRange(0, 0, 20, UNITS, false)).toEqual({ minChunks: 0, maxChunks: 1 });
  });
});

describe("snap", () => {
  it("rounds to the nearest chunk multiple", () => {
    expect(snap(130, 60)).toBe(120);
    expect(snap(150, 60)).toBe(180);
    expect(snap(5, 0)).toBe(0);
  });
});

describe("estimate", () => {
  it("tokens per second with DBUs and cost", () => {
    const e = estimate(TOKENS, 60, 2, 4, 24, 0.07);
    expect(e.capacity).toBe("120–240 tokens/s");
    expect(e.chunks).toBe("2–4 chunks of 60 tokens/s");
    expect(e.dbus).toBe("48–96 DBU/h");
    expect(e.cost).toBe("$3.36–6.72 per hour");
  });
  it("a fixed size and unknown price", () => {
    const e = estimate(TOKENS, 980, 3, 3, null, null);
    expect(e.capacity).toBe("2,940 tokens/s");
    expect(e.dbus).toBe("");
    expect(e.cost).toBe("");
  });
  it("model units", () => {
    const e = estimate(UNITS, 50, 0, 2, 24, null);
    expect(e.capacity).toBe("100 model units");
    expect(e.chunks).toBe("2 chunks of 50 units");
    expect(e.dbus).toBe("48 DBU/h");
  });
});

describe("endpoint names", () => {
  it("accepts what Databricks accepts", () => {
    expect(endpointNameProblem("smollm2-135m-instruct-v1")).toBe("");
    expect(endpointNameProblem("a_B-9")).toBe("");
  });
  it("says what is wrong", () => {
    expect(endpointNameProblem("")).toMatch(/name/);
    expect(endpointNameProblem("my.endpoint x")).toBe(
      "Use only letters, digits, '-' and '_' (not '.', spaces).",
    );
    expect(endpointNameProblem("x".repeat(64))).toMatch(/at most 63/);
  });
});

describe("formatting", () => {
  it("numbers, durations, tasks and tokens", () => {
    expect(formatInt(12345.4)).toBe("12,345");
    expect(formatInt(null)).toBe("–");
    expect(formatNumber(1.5)).toBe("1.5");
    expect(formatNumber(2)).toBe("2");
    expect(formatNumber(0.12345, 3)).toBe("0.123");
    expect(formatDuration(75.9)).toBe("1:15");
    expect(shortTask("llm/v1/embeddings")).toBe("embeddings");
    expect(showToken(" a\n")).toBe("·a⏎");
  });
  it("probabilities of logprobs, splitting inputs", () => {
    expect(probabilities([0, Math.log(0.25), null])).toEqual([1, 0.25, 0]);
    expect(splitTexts("a\n\n b \r\nc")).toEqual(["a", "b", "c"]);
    expect(splitStops("END, \\n ,")).toEqual(["END", "\\n"]);
  });
});
