import { describe, expect, it } from "vitest";
import {
  bindButton,
  bindCheckbox,
  bindErrors,
  bindNumber,
  bindSelect,
  bindText,
  onCtrlEnter,
  parseNumber,
  traitLabel,
} from "../src/bind";
import { h } from "../src/dom";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

interface State {
  max_requests_per_level: number;
  temperature: number;
  price: number | null;
  prompt: string;
  stream: boolean;
  endpoint: string;
  error: string;
}

const STATE: State = {
  max_requests_per_level: 200,
  temperature: 0.2,
  price: null,
  prompt: "hi",
  stream: true,
  endpoint: "b",
  error: "",
};

function setup(prefix = "") {
  const state = Object.fromEntries(Object.entries(STATE).map(([k, v]) => [prefix + k, v]));
  const model = new FakeModel(state);
  const controller = new AbortController();
  const ctx = new Ctx<State, string>(model, prefix, "test", new Rpc(model), controller.signal);
  const errors: string[] = [];
  return { model, ctx, errors, onError: (m: string) => errors.push(m), controller };
}

function change(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string) {
  el.value = value;
  el.dispatchEvent(new Event("change"));
}

describe("traitLabel and parseNumber", () => {
  it("names a trait with every underscore replaced, not only the first", () => {
    expect(traitLabel("max_requests_per_level")).toBe("Max requests per level");
    expect(traitLabel("temperature")).toBe("Temperature");
  });

  it("parses, rounds and checks numbers, saying what is wrong in one sentence", () => {
    expect(parseNumber("2.6", { integer: true })).toEqual({ value: 3, error: "" });
    expect(parseNumber("", {}, "max_tokens").error).toBe("Max tokens must be a number.");
    expect(parseNumber("abc", {}, "max_tokens").error).toBe("Max tokens must be a number.");
    expect(parseNumber("0", { positive: true }, "seconds_per_level").error).toBe(
      "Seconds per level must be a positive number.",
    );
    expect(parseNumber("-1", { nonNegative: true, label: "The price" }).error).toBe(
      "The price must be zero or more.",
    );
    expect(parseNumber("0", { nonNegative: true })).toEqual({ value: 0, error: "" });
    expect(parseNumber("  ", { optional: true })).toEqual({ value: null, error: "" });
  });
});

describe("bindNumber", () => {
  it("saves a valid value (rounded for integers) under the panel's prefix", () => {
    const { model, ctx, onError, errors } = setup("loadtest_");
    const input = h("input", { type: "number" });
    bindNumber(ctx, input, "max_requests_per_level", onError, { integer: true, positive: true });
    expect(input.value).toBe("200");
    change(input, "49.6");
    expect(model.state.loadtest_max_requests_per_level).toBe(50);
    expect(model.saves).toBe(1);
    expect(errors).toEqual([]);
  });

  it("reports a bad value naming the whole field, and shows the trait again", () => {
    const { model, ctx, onError, errors } = setup();
    const input = h("input", { type: "number" });
    bindNumber(ctx, input, "max_requests_per_level", onError, { positive: true });
    change(input, "-3");
    expect(errors).toEqual(["Max requests per level must be a positive number."]);
    expect(input.value).toBe("200");
    expect(model.saves).toBe(0);
  });

  it("follows the trait, except while the user is typing in the field", () => {
    const { model, ctx, onError } = setup();
    const input = h("input", { type: "number" });
    document.body.append(input);
    bindNumber(ctx, input, "temperature", onError);
    model.update({ temperature: 0.7 });
    expect(input.value).toBe("0.7");
    input.focus();
    input.value = "1.5";
    model.update({ temperature: 0.9 });
    expect(input.value).toBe("1.5");
    input.remove();
  });

  it("takes an empty optional field as null", () => {
    const { model, ctx, onError } = setup();
    const input = h("input", { type: "number" });
    bindNumber(ctx, input, "price", onError, { optional: true, nonNegative: true });
    change(input, "0.07");
    expect(model.state.price).toBe(0.07);
    change(input, "");
    expect(model.state.price).toBeNull();
  });

  it("stops following when the view goes away", () => {
    const { model, ctx, onError, controller } = setup();
    const input = h("input", { type: "number" });
    bindNumber(ctx, input, "temperature", onError);
    controller.abort();
    expect(model.listeners("change:temperature")).toBe(0);
  });
});

describe("bindText, bindCheckbox, bindSelect", () => {
  it("write on change and show the trait", () => {
    const { model, ctx } = setup();
    const text = h("textarea", {});
    const check = h("input", { type: "checkbox" });
    const select = h(
      "select",
      {},
      h("option", { value: "a", text: "a" }),
      h("option", { value: "b", text: "b" }),
    );
    bindText(ctx, text, "prompt");
    bindCheckbox(ctx, check, "stream");
    bindSelect(ctx, select, "endpoint");
    expect([text.value, check.checked, select.value]).toEqual(["hi", true, "b"]);
    change(text, "hello");
    check.checked = false;
    check.dispatchEvent(new Event("change"));
    change(select, "a");
    expect(model.state).toMatchObject({ prompt: "hello", stream: false, endpoint: "a" });
    model.update({ prompt: "from python", stream: true, endpoint: "b" });
    expect([text.value, check.checked, select.value]).toEqual(["from python", true, "b"]);
  });

  it("a select keeps its value until the trait's option exists", () => {
    const { model, ctx } = setup();
    const select = h("select", {}, h("option", { value: "a", text: "a" }));
    bindSelect(ctx, select, "endpoint");
    expect(select.value).toBe("a");
    model.update({ endpoint: "new-endpoint" });
    expect(select.value).toBe("a");
  });
});

describe("bindButton", () => {
  it("is disabled and marked busy while its action runs; a second click does nothing", async () => {
    const button = h("button", {});
    let finish = () => {};
    let runs = 0;
    let after = 0;
    bindButton(
      button,
      () => {
        runs += 1;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
      () => {},
      () => {
        after += 1;
      },
    );
    button.click();
    expect(button.disabled).toBe(true);
    expect(button.getAttribute("aria-busy")).toBe("true");
    button.dispatchEvent(new Event("click")); // a disabled button may still get events: ignored
    expect(runs).toBe(1);
    finish();
    await flush();
    expect(button.disabled).toBe(false);
    expect(button.hasAttribute("aria-busy")).toBe(false);
    expect(after).toBe(1);
  });

  it("reports a failure as one sentence; a check before the first await reports at once", async () => {
    const messages: string[] = [];
    const button = h("button", {});
    const bound = bindButton(
      button,
      () => {
        throw new Error("Write a prompt first.");
      },
      (m) => messages.push(m),
    );
    button.click();
    expect(messages).toEqual(["Write a prompt first."]);
    const failing = bindButton(
      h("button", {}),
      () => Promise.reject(new Error("No answer.")),
      (m) => messages.push(m),
    );
    await failing.run();
    expect(messages).toEqual(["Write a prompt first.", "No answer."]);
    expect(bound.busy).toBe(false);
  });
});

describe("bindErrors and onCtrlEnter", () => {
  it("shows the error trait; dismissing clears it in the kernel too", () => {
    const { model, ctx } = setup();
    const errors = bindErrors(ctx);
    const root = h("div", {}, errors.el);
    expect(errors.el.hidden).toBe(true);
    model.update({ error: "The endpoint is gone." });
    expect(byTestId(root, "error").textContent).toMatch(/The endpoint is gone\./);
    root.querySelector<HTMLButtonElement>(".ptw-icon-button")?.click();
    expect(model.state.error).toBe("");
    expect(errors.el.hidden).toBe(true);
  });

  it("runs on Ctrl+Enter or Cmd+Enter only", () => {
    const area = h("textarea", {});
    let runs = 0;
    onCtrlEnter(area, () => {
      runs += 1;
    });
    area.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    area.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true }));
    area.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", metaKey: true }));
    expect(runs).toBe(2);
  });
});
