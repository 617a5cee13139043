// The conversation timeline: streaming user and assistant transcripts, handoffs, tool calls
// with arguments and results, approval requests with their buttons, guardrail trips.
import { clockTime, h, prettyJson } from "./dom.js";

export class Timeline {
  /**
   * @param {HTMLElement} list the role=log element
   * @param {{approve: (callId: string, always: boolean) => void,
   *          reject: (callId: string, always: boolean, message: string | null) => void}} actions
   */
  constructor(list, actions) {
    this.list = list;
    this.actions = actions;
    this.messages = new Map(); // item_id -> bubble
    this.pendingTyped = []; // typed user turns not yet matched to a server item
    this.tools = new Map(); // call_id -> card
  }

  append(node) {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.querySelector(".empty-state")?.remove();
    this.list.append(node);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  bubble(role, agent, text, final) {
    const who = role === "user" ? "You" : agent || "Assistant";
    const body = h("p", { class: "bubble-text", text });
    const el = h("article", {
      class: `message message-${role}${final ? "" : " is-streaming"}`,
      "data-testid": `message-${role}`,
      "data-final": final ? "true" : "false",
    },
    h("header", { class: "message-meta" },
      h("span", { class: "message-who", text: who }), h("time", { text: clockTime() })),
    body);
    el.body = body;
    return el;
  }

  /** A line the user typed, shown at once (the server's transcript for it then adopts it). */
  typed(text) {
    const el = this.bubble("user", null, text, true);
    el.dataset.source = "typed";
    this.pendingTyped.push(el);
    this.append(el);
  }

  transcript(message) {
    let el = this.messages.get(message.item_id);
    if (!el && message.role === "user") {
      const index = this.pendingTyped.findIndex((p) => p.body.textContent === message.text
        || message.text.startsWith(p.body.textContent) || p.body.textContent.startsWith(message.text));
      if (index >= 0) {
        el = this.pendingTyped.splice(index, 1)[0];
        this.messages.set(message.item_id, el);
      }
    }
    if (!el) {
      el = this.bubble(message.role, message.agent, message.text, message.final);
      this.messages.set(message.item_id, el);
      this.append(el);
    }
    el.dataset.itemId = message.item_id;
    el.body.textContent = message.text;
    el.dataset.final = message.final ? "true" : "false";
    el.classList.toggle("is-streaming", !message.final);
    if (message.final) this.list.dispatchEvent(new CustomEvent("transcript-final", { detail: message }));
  }

  /** The assistant's audio for an item was cut off: show that the listener heard only part. */
  interrupted(itemId) {
    const el = this.messages.get(itemId);
    if (el) {
      el.classList.add("is-interrupted");
      if (!el.querySelector(".message-flag")) {
        el.querySelector(".message-meta").append(h("span", { class: "message-flag", text: "interrupted" }));
      }
    }
  }

  divider(kind, text) {
    this.append(h("div", { class: `divider divider-${kind}`, role: "note", "data-testid": `divider-${kind}` },
      h("span", { text })));
  }

  handoff(from, to) {
    this.divider("handoff", `Handoff: ${from} → ${to}`);
  }

  toolCard(callId, name, argumentsText, status) {
    let card = this.tools.get(callId);
    if (card) return card;
    const state = h("span", { class: "tool-state", "data-testid": "tool-state", text: status });
    const approvalSlot = h("div", { class: "tool-approval-slot" });
    const results = h("div", { class: "tool-result-slot" });
    card = h("section", { class: "tool-card", "data-testid": "tool-call", "data-call-id": callId, "data-tool": name,
      "data-state": status, "aria-label": `Tool call ${name}` },
    h("header", { class: "tool-head" },
      h("span", { class: "tool-icon", "aria-hidden": "true", text: "ƒ" }),
      h("code", { class: "tool-name", text: name }), state),
    h("div", { class: "tool-section" },
      h("div", { class: "tool-label", text: "Arguments" }),
      h("pre", { class: "tool-args", "data-testid": "tool-arguments", text: prettyJson(argumentsText || "{}") })),
    approvalSlot, results);
    card.stateEl = state;
    card.results = results;
    card.approvalSlot = approvalSlot;
    this.tools.set(callId, card);
    this.append(card);
    return card;
  }

  setToolState(card, status) {
    card.dataset.state = status;
    card.stateEl.textContent = status;
  }

  toolStart(message) {
    const card = this.toolCard(message.call_id, message.name, message.arguments, "running");
    this.setToolState(card, "running");
  }

  toolEnd(message) {
    const card = this.toolCard(message.call_id, message.name, message.arguments, "done");
    if (card.dataset.state !== "rejected") this.setToolState(card, "done");
    card.results.replaceChildren(h("div", { class: "tool-section" },
      h("div", { class: "tool-label", text: "Result" }),
      h("pre", { class: "tool-output", "data-testid": "tool-output", text: prettyJson(String(message.output ?? "")) })));
  }

  approvalRequired(message) {
    const card = this.toolCard(message.call_id, message.name, message.arguments, "awaiting approval");
    this.setToolState(card, "awaiting approval");
    card.classList.add("needs-approval");
    const reasonId = `reason-${message.call_id}`;
    const reason = h("input", { id: reasonId, type: "text", class: "reason-input", "data-testid": "reject-reason",
      placeholder: "Reason (optional, the model sees it)", autocomplete: "off" });
    const buttons = [];
    const decide = (label, fn) => () => {
      const why = reason.value.trim();
      for (const b of buttons) b.disabled = true;
      card.classList.remove("needs-approval");
      approval.replaceChildren(h("p", { class: "approval-decision", role: "status", "data-testid": "approval-decision",
        text: label === "Rejected" && why ? `Rejected: ${why}` : label }));
      approval.dataset.decision = label;
      fn();
    };
    const button = (text, cls, testid, onclick) => {
      const b = h("button", { type: "button", class: `btn ${cls}`, "data-testid": testid, text, onclick });
      buttons.push(b);
      return b;
    };
    const approval = h("div", { class: "approval", role: "group", "aria-label": `Approve ${message.name}?` },
      h("p", { class: "approval-question", text: `Run ${message.name} with these arguments?` }),
      h("div", { class: "approval-actions" },
        button("Approve once", "btn-primary", "approve-once", decide("Approved once", () => {
          this.setToolState(card, "approved");
          this.actions.approve(message.call_id, false);
        })),
        button("Always approve", "btn-secondary", "approve-always", decide(`Always approved (${message.name})`, () => {
          this.setToolState(card, "approved");
          this.actions.approve(message.call_id, true);
        })),
        button("Reject", "btn-danger", "reject", decide("Rejected", () => {
          this.setToolState(card, "rejected");
          this.actions.reject(message.call_id, false, reason.value.trim() || null);
        }))),
      h("label", { class: "sr-only", for: reasonId, text: "Reason for rejecting" }),
      reason);
    card.approvalSlot.replaceChildren(approval);
    approval.scrollIntoView({ block: "nearest" }); // the buttons must be seen to be pressed
  }

  guardrail(message) {
    this.append(h("section", { class: "guardrail-card", role: "alert", "data-testid": "guardrail-tripped" },
      h("strong", { text: `Guardrail ${message.guardrail} tripped` }),
      h("p", { class: "guardrail-text", text: message.text || "" })));
  }
}
