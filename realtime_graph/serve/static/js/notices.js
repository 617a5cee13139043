// The notices panel: reloads, rejected reloads (with their located errors), errors, connection
// events. Newest first; each notice has a level (info, success, warning, error).
import { clockTime, h } from "./dom.js";

const MAX_NOTICES = 100;

export class Notices {
  /** @param {HTMLElement} list */
  constructor(list) {
    this.list = list;
  }

  add(level, title, detail = null, testid = "notice") {
    this.list.querySelector(".empty-state")?.remove();
    const item = h("li", { class: `notice notice-${level}`, "data-testid": testid, "data-level": level },
      h("div", { class: "notice-head" },
        h("strong", { class: "notice-title", text: title }), h("time", { text: clockTime() })),
      detail ? h(detail.includes("\n") ? "pre" : "p", { class: "notice-detail", text: detail }) : null);
    this.list.prepend(item);
    while (this.list.children.length > MAX_NOTICES) this.list.lastElementChild.remove();
    return item;
  }
}
