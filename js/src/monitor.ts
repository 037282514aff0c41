// MonitorPanel: one endpoint watched live from its metrics export. The kernel polls only while
// a view of the panel is on screen: each view says "visible"/"hidden" (IntersectionObserver and
// the tab's visibility) and "hidden" again when it is removed. The kernel sends one row per
// interval; the view keeps the last minutes and redraws the chart and the readout.
import { bindErrors } from "./bind";
import { errorText, h } from "./dom";
import { endpointRow, endpointSelect } from "./endpoint_select";
import { chartLegend } from "./loadtest_chart";
import { countLimited, keepWindow, type MonitorRow, monitorChart, readoutText } from "./monitor_chart";
import type { Ctx, Payload } from "./rpc";

export * from "./monitor_chart";

export interface MonitorState {
  endpoint: string;
  interval_s: number;
  window_s: number;
  status: string; // idle paused watching stopped error
  error: string;
}

type MonitorCtx = Ctx<MonitorState>;

let views = 0;

/**
 * Tell the kernel whether this view can be seen: on screen (IntersectionObserver; where there
 * is none, assume so) and the tab visible. Removal says hidden, even as the view closes.
 */
export function watchVisibility(ctx: MonitorCtx, root: HTMLElement): string {
  views += 1;
  const view = `view-${views}-${Math.random().toString(36).slice(2, 8)}`;
  let onScreen = typeof IntersectionObserver === "undefined";
  let said = false; // the kernel counts a view as hidden until it says otherwise
  const say = () => {
    const visible = onScreen && document.visibilityState !== "hidden";
    if (visible === said) return;
    said = visible;
    ctx.post("visibility", { view, visible });
  };
  const onTab = () => say();
  document.addEventListener("visibilitychange", onTab);
  let observer: IntersectionObserver | null = null;
  if (typeof IntersectionObserver !== "undefined") {
    observer = new IntersectionObserver((entries) => {
      onScreen = entries.some((e) => e.isIntersecting);
      say();
    });
    observer.observe(root);
  }
  ctx.onClose(() => {
    observer?.disconnect();
    document.removeEventListener("visibilitychange", onTab);
    if (said) ctx.post("visibility", { view, visible: false });
  });
  say();
  return view;
}

const STATUS_TEXT: Record<string, string> = {
  idle: "Choose an endpoint to watch.",
  paused: "Paused while no view of the monitor is on screen.",
  stopped: "Stopped from Python (panel.start() resumes).",
  error: "Stopped: the endpoint cannot be watched.",
};

/** The window of rows as the page knows it, drawn into the chart, readout and 429 count. */
function windowView(ctx: MonitorCtx) {
  const chartBox = h("div", { "data-testid": "mon-chart-box" });
  const readout = h("div", { class: "ptw-note", "data-testid": "mon-readout" });
  const limited = h("strong", { "data-testid": "mon-429-count", text: "0" });
  const view = {
    rows: [] as MonitorRow[],
    chartBox,
    readout,
    limitedLine: h("div", { class: "ptw-muted" }, limited, " × 429 in the window"),
    add(rows: MonitorRow[]) {
      view.rows = keepWindow(view.rows, rows, ctx.get("window_s") || 300);
      view.draw();
    },
    draw() {
      chartBox.replaceChildren(
        monitorChart(view.rows, ctx.get("window_s") || 300, ctx.get("interval_s") || 2),
      );
      readout.textContent = readoutText(view.rows);
      limited.textContent = String(countLimited(view.rows));
      chartBox.dataset.rows = String(view.rows.length);
    },
  };
  return view;
}

export function renderMonitor(ctx: MonitorCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const endpoint = endpointSelect(ctx, "mon-endpoint", (m) => errors.set(m));
  const status = h("span", { class: "ptw-muted", "data-testid": "mon-status" });
  const win = windowView(ctx);
  const panel = h(
    "div",
    { class: "ptw-monitor" },
    endpointRow(endpoint, status),
    win.readout,
    win.chartBox,
    chartLegend(),
    win.limitedLine,
    errors.el,
  );
  root.append(panel);
  const renderStatus = () => {
    const s = ctx.get("status") || "idle";
    root.dataset.status = s;
    status.textContent =
      s === "watching"
        ? `Watching every ${ctx.get("interval_s")} s, the last ${Math.round(ctx.get("window_s") / 60)} min`
        : (STATUS_TEXT[s] ?? "");
  };
  const reload = () => {
    win.rows = [];
    ctx
      .request<{ rows: MonitorRow[] }>("window")
      .then((res) => win.add(res.rows))
      .catch((e) => errors.set(errorText(e)));
  };
  ctx.onEvent((event: Payload) => {
    if (event?.type === "row") win.add([event.row]);
    else if (event?.type === "reset") reload();
  });
  ctx.on(["status", "interval_s", "window_s"], renderStatus);
  ctx.on("endpoint", reload);
  renderStatus();
  win.draw();
  endpoint.list.load();
  reload();
  watchVisibility(ctx, root);
}
