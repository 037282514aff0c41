import { describe, expect, it } from "vitest";
import { Ctx, Rpc } from "../src/rpc";
import { renderSlider } from "../src/slider";
import { byTestId, FakeModel } from "./fake";

function setup(state: Record<string, any>) {
  const model = new FakeModel({
    state: "ready",
    scheme: "tokens_per_second",
    chunk_size: 60,
    max_chunks: 20,
    min_value: 120,
    max_value: 240,
    scale_to_zero: false,
    dbus_per_chunk: 24,
    price_per_dbu: null,
    disabled_reason: "",
    error: "",
    ...state,
  });
  const root = document.createElement("div");
  renderSlider(new Ctx(model, "", "slider", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

function move(input: HTMLInputElement, value: number, event: "input" | "change") {
  input.value = String(value);
  input.dispatchEvent(new Event(event));
}

describe("ThroughputSlider", () => {
  it("works in whole chunks and labels tokens/s, chunks and DBU/h", () => {
    const { root } = setup({});
    const hi = byTestId<HTMLInputElement>(root, "slider-max");
    expect(hi.step).toBe("1");
    expect(hi.max).toBe("20");
    expect(byTestId(root, "slider-readout").textContent).toBe("120–240 tokens/s");
    expect(byTestId(root, "slider-chunks").textContent).toBe("2–4 chunks of 60 tokens/s");
    expect(byTestId(root, "slider-estimate").textContent).toMatch(/48–96 DBU\/h/);
  });

  it("updates the label while dragging without a round trip, saves on release", () => {
    const { model, root } = setup({});
    const hi = byTestId<HTMLInputElement>(root, "slider-max");
    move(hi, 7, "input");
    expect(byTestId(root, "slider-readout").textContent).toBe("120–420 tokens/s");
    expect(model.saves).toBe(0);
    expect(model.sent).toHaveLength(0);
    move(hi, 7, "change");
    expect(model.state.max_value).toBe(420);
    expect(model.state.max_value % 60).toBe(0);
    expect(model.saves).toBe(1);
  });

  it("keeps min at or below max", () => {
    const { model, root } = setup({});
    move(byTestId<HTMLInputElement>(root, "slider-min"), 9, "change");
    expect(model.state.min_value).toBe(540);
    expect(model.state.max_value).toBe(540);
  });

  it("scale to zero pins the minimum at 0", () => {
    const { model, root } = setup({});
    const zero = byTestId<HTMLInputElement>(root, "scale-to-zero");
    zero.checked = true;
    zero.dispatchEvent(new Event("change"));
    expect(model.state).toMatchObject({ scale_to_zero: true, min_value: 0, max_value: 240 });
    expect(byTestId<HTMLInputElement>(root, "slider-min").disabled).toBe(true);
    expect(byTestId(root, "slider-readout").textContent).toBe("0–240 tokens/s");
  });

  it("labels DBU/h and cost as illustrative on the local workspace, and only there", () => {
    const { model, root } = setup({ illustrative_cost: true, price_per_dbu: 0.5 });
    const estimate = byTestId(root, "slider-estimate");
    expect(estimate.textContent).toBe(
      "Capacity up to 240 tokens/s · 48–96 DBU/h (illustrative) · $24–48 per hour (illustrative)",
    );
    expect(byTestId(root, "slider-illustrative").hidden).toBe(false);
    expect(byTestId(root, "slider-illustrative").textContent).toMatch(/bills nothing/);
    model.update({ illustrative_cost: false });
    expect(estimate.textContent).not.toMatch(/illustrative/);
    expect(byTestId(root, "slider-illustrative").hidden).toBe(true);
  });

  it("shows a cost with a price per DBU", () => {
    const { model, root } = setup({});
    const price = byTestId<HTMLInputElement>(root, "price");
    price.value = "0.07";
    price.dispatchEvent(new Event("change"));
    expect(model.state.price_per_dbu).toBe(0.07);
    expect(byTestId(root, "slider-estimate").textContent).toMatch(/\$3\.36–6\.72 per hour/);
  });

  it("switches to model units (one value, no scale-to-zero)", () => {
    const { root } = setup({ scheme: "model_units", chunk_size: 50, min_value: 0, max_value: 100 });
    expect(byTestId<HTMLInputElement>(root, "slider-min").hidden).toBe(true);
    expect(byTestId<HTMLInputElement>(root, "scale-to-zero").disabled).toBe(true);
    expect(byTestId(root, "slider-readout").textContent).toBe("100 model units");
  });

  it("is disabled with the reason when the model is not eligible", () => {
    const { model, root } = setup({
      state: "disabled",
      chunk_size: 0,
      disabled_reason: "system.ai.x version 1 is not eligible for provisioned throughput: no task.",
    });
    expect(byTestId(root, "slider-disabled").hidden).toBe(false);
    expect(byTestId(root, "slider-disabled").textContent).toMatch(/not eligible/);
    expect(byTestId<HTMLInputElement>(root, "slider-max").disabled).toBe(true);
    model.update({ chunk_size: 60, state: "ready" });
    expect(byTestId(root, "slider-disabled").hidden).toBe(true);
    expect(byTestId<HTMLInputElement>(root, "slider-max").disabled).toBe(false);
  });

  it("follows values set from Python", () => {
    const { model, root } = setup({});
    model.update({ max_value: 600, min_value: 60 });
    expect(byTestId(root, "slider-readout").textContent).toBe("60–600 tokens/s");
    expect(byTestId<HTMLInputElement>(root, "slider-max").value).toBe("10");
  });
});
