// External model form: an OpenAI-compatible server (vLLM, llama.cpp, another workspace) as an
// endpoint. The key is typed into a password field that no trait is bound to; it leaves the
// page once, in a "secret" request the kernel hands to the secrets API, and the field is
// emptied as soon as it is sent. Only the {{secrets/…}} reference comes back.
import { bindButton, bindErrors, bindSelect, bindText } from "./bind";
import { button, field, h } from "./dom";
import { endpointNameProblem } from "./format";
import type { Ctx } from "./rpc";

export interface ExternalState {
  provider: string; // openai | custom
  base_url: string;
  model: string;
  task: string;
  endpoint_name: string;
  secret_reference: string; // {{secrets/scope/key}}: a name, never the value
  status: string; // idle deploying ready failed
  message: string;
  endpoint: string;
  endpoint_task: string;
  error: string;
}

type ExternalCtx = Ctx<ExternalState>;

const PROVIDERS = [
  ["openai", "OpenAI-compatible (openai_config)"],
  ["custom", "custom provider (bearer token)"],
];
const TASKS = ["llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings"];

function select(testid: string, options: string[][]): HTMLSelectElement {
  return h(
    "select",
    { "data-testid": testid },
    options.map(([value, label]) => h("option", { value, text: label ?? value })),
  );
}

/** A text field bound to one of the form's string traits. */
function textInput(
  ctx: ExternalCtx,
  trait: "base_url" | "model" | "endpoint_name",
  type: string,
  placeholder: string,
) {
  const input = h("input", { type, placeholder, "data-testid": `external-${trait.split("_").join("-")}` });
  bindText(ctx, input, trait);
  return input;
}

/** Send the typed key to the kernel once and forget it here (whatever the answer). */
export async function sendSecret(ctx: ExternalCtx, input: HTMLInputElement): Promise<void> {
  const value = input.value;
  input.value = "";
  if (!value) return;
  await ctx.request("secret", { value });
}

export function renderExternal(ctx: ExternalCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const provider = select("external-provider", PROVIDERS);
  const task = select(
    "external-task",
    TASKS.map((t) => [t, t]),
  );
  const base = textInput(ctx, "base_url", "url", "http://host:8000/v1");
  const model = textInput(ctx, "model", "text", "the server's model name");
  const name = textInput(ctx, "endpoint_name", "text", "endpoint name");
  const key = h("input", {
    type: "password",
    autocomplete: "new-password",
    "data-testid": "external-secret",
  });
  key.placeholder = "API key (kept in the secrets API)";
  const deploy = button("Deploy external model", "external-deploy", "ptw-primary");
  const status = h("span", { class: "ptw-muted", "data-testid": "external-status" });
  const reference = h("span", { class: "ptw-hint", "data-testid": "external-reference" });
  bindSelect(ctx, provider, "provider");
  bindSelect(ctx, task, "task");
  root.append(
    h(
      "div",
      { class: "ptw-external" },
      h(
        "div",
        { class: "ptw-row ptw-row-wrap ptw-row-end" },
        field("Provider", provider),
        field("Task", task),
      ),
      field("Base URL", base, "its /chat/completions, /completions, /embeddings are called"),
      h("div", { class: "ptw-row ptw-row-wrap ptw-row-end" }, field("Model", model), field("Endpoint", name)),
      field("API key", key, "sent once to the secrets API; never saved in the notebook"),
      reference,
      h("div", { class: "ptw-row" }, deploy, status),
      errors.el,
    ),
  );
  const paint = () => {
    status.textContent = ctx.get("status") === "failed" ? "failed" : ctx.get("message");
    const ref = ctx.get("secret_reference");
    reference.textContent = ref ? `key stored as ${ref}` : "";
  };
  bindButton(
    deploy,
    async () => {
      const problem = endpointNameProblem(name.value.trim());
      if (problem) throw new Error(problem);
      await sendSecret(ctx, key);
      await ctx.request("deploy");
    },
    (m) => errors.set(m),
    paint,
  );
  ctx.on(["status", "message", "secret_reference"], paint);
  paint();
}
