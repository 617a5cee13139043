"""Checks of the telephony parts of a definition: ``telephony`` (graph) and ``call_control`` (agent).

The JSON Schema has checked the shapes; these are the checks that need other documents or a
parser, with codes in the ``RG6xx`` range (documented in docs/telephony.md):

- ``RG601`` a routing rule names an unknown agent
- ``RG602`` a routing rule sets a variable that is not declared, or not of type string
- ``RG603`` invalid regular expression in a routing condition
- ``RG604`` a transfer target is not a valid ``tel:`` or ``sip:`` URI
- ``RG605`` a call-control tool name clashes with another tool of the agent
- ``RG610`` a ``dtmf`` digit hands off to an unknown agent
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from ..graph.model import DtmfRoute, Variable
from .issues import IssueSink, closest
from .yamlsource import Document

__all__ = ("TELEPHONY_CODES", "check_call_control", "check_dtmf", "check_telephony", "dtmf_routes",
           "transfer_target_problem")

TELEPHONY_CODES: dict[str, str] = {
    "RG601": "routing rule names an unknown agent",
    "RG602": "routing rule sets an undeclared or non-string variable",
    "RG603": "invalid regular expression in a routing condition",
    "RG604": "transfer target is not a valid tel: or sip: URI",
    "RG605": "call-control tool name clashes with another tool of the agent",
    "RG610": "dtmf route hands off to an unknown agent",
}

_MAX_URI = 256
# RFC 3966 global number: "+", digits with visual separators, optional ;params
_TEL = re.compile(r"tel:\+[0-9](?:[0-9.()-]*[0-9])?(?:;[A-Za-z0-9-]+(?:=[A-Za-z0-9+.%_~!$&'()*:@-]+)?)*")
# RFC 3261 sip/sips: optional user@, a host name, IPv4 or [IPv6], optional :port and ;params
_SIP = re.compile(r"sips?:(?:[A-Za-z0-9+._~!$&'()*,;=%-]+@)?"
                  r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                  r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:;[A-Za-z0-9-]+(?:=[A-Za-z0-9+._~%-]+)?)*")

HANGUP_TOOL = "hangup"
_ENV_DEFAULTS = {"webhook_secret": "OPENAI_WEBHOOK_SECRET", "twilio_auth_token": "TWILIO_AUTH_TOKEN"}


def transfer_target_problem(uri: str) -> str | None:
    """Why ``uri`` is not a transfer target (``tel:+14155550123``, ``sip:agent@example.com``), or None."""
    if len(uri) > _MAX_URI:
        return f"transfer target is longer than {_MAX_URI} characters"
    if _TEL.fullmatch(uri):
        digits = sum(ch.isdigit() for ch in uri.split(";", 1)[0])
        if not 3 <= digits <= 15:
            return f"tel: number {uri!r} has {digits} digits; E.164 numbers have 3 to 15"
        return None
    if _SIP.fullmatch(uri):
        return None
    if uri.startswith("tel:"):
        return f"{uri!r} is not a global tel: number; write it as tel:+<country code><number>, e.g. tel:+14155550123"
    if uri.startswith(("sip:", "sips:")):
        return f"{uri!r} is not a valid sip: URI; write sip:user@host, e.g. sip:agent@example.com"
    return f"{uri!r} is neither a tel: nor a sip: URI (e.g. tel:+14155550123 or sip:agent@example.com)"


def check_telephony(doc: Document, agents: Collection[str], variables: Mapping[str, Variable],
                    sink: IssueSink) -> None:
    """RG601 to RG603 for the graph document's ``telephony.routing`` rules."""
    telephony = doc.data.get("telephony")
    if not isinstance(telephony, dict):
        return
    for key in ("webhook_secret", "twilio_auth_token"):
        value = telephony.get(key)
        if isinstance(value, str) and not value.startswith("${"):
            sink.add("RG503", f"telephony.{key} is a literal secret", doc, ("telephony", key),
                     hint=f"use an ${{ENV}} reference, e.g. {key}: ${{{_ENV_DEFAULTS[key]}}}")
    for i, rule in enumerate(telephony.get("routing", [])):
        base = ("telephony", "routing", i)
        agent = rule.get("agent")
        if agent not in agents:
            near = closest(agent, sorted(agents))
            sink.add("RG601", f"routing rule sends calls to unknown agent {agent!r}", doc, (*base, "agent"),
                     hint=f"did you mean {near!r}?" if near else "name an agent defined in the folder")
        for name in rule.get("set", {}):
            var = variables.get(name)
            if var is None:
                sink.add("RG602", f"routing rule sets undeclared variable {name!r}", doc, (*base, "set", name),
                         key=True, hint=f"declare it under `variables:` ({name}: {{type: string}})")
            elif var.type != "string":
                sink.add("RG602", f"routing rule sets variable {name!r} of type {var.type}; "
                         "routed values are strings", doc, (*base, "set", name), key=True,
                         hint="declare the variable with `type: string`")
        for j, cond in enumerate(rule.get("when", [])):
            if "regex" in cond:
                try:
                    re.compile(cond["regex"])
                except re.error as exc:
                    sink.add("RG603", f"invalid regular expression {cond['regex']!r}: {exc}", doc,
                             (*base, "when", j, "regex"), hint="fix the pattern (Python `re` syntax)")


def check_call_control(doc: Document, other_tools: Collection[str], sink: IssueSink) -> None:
    """RG604/RG605 for an agent document's ``call_control``; ``other_tools`` are its tool and handoff names."""
    control = doc.data.get("call_control")
    if not isinstance(control, dict):
        return
    seen: dict[str, tuple[Any, ...]] = {}
    if control.get("hangup"):
        seen[HANGUP_TOOL] = ("call_control", "hangup")
    for i, entry in enumerate(control.get("transfer", [])):
        path = ("call_control", "transfer", i)
        problem = transfer_target_problem(entry["target"])
        if problem:
            sink.add("RG604", problem, doc, (*path, "target"),
                     hint="transfer targets are tel:+E.164 numbers or sip:user@host URIs")
        name = entry["name"]
        if name in seen:
            sink.add("RG605", f"call-control tool name {name!r} is used twice", doc, (*path, "name"),
                     hint="give each transfer its own name")
        seen[name] = (*path, "name")
    for name, path in seen.items():
        if name in other_tools:
            sink.add("RG605", f"call-control tool {name!r} has the name of a tool or handoff of this agent",
                     doc, path, hint="rename the transfer, or the tool")


def dtmf_routes(raw: Mapping[str, Any]) -> dict[str, DtmfRoute]:
    """The typed routes of a schema-valid ``dtmf`` mapping (digit → exactly one action)."""
    routes: dict[str, DtmfRoute] = {}
    for digit, spec in raw.items():
        ((action, value),) = spec.items()
        routes[str(digit)] = DtmfRoute(action, value)
    return routes


def check_dtmf(doc: Document, agents: Collection[str], sink: IssueSink) -> None:
    """RG610 for an agent document's ``dtmf`` routes that hand off to an agent not in the graph."""
    routes = doc.data.get("dtmf")
    if not isinstance(routes, dict):
        return
    for digit, spec in routes.items():
        if not isinstance(digit, str) and not (type(digit) is int and 0 <= digit <= 9):
            sink.add("RG110", f"{digit!r} is not a keypad digit", doc, ("dtmf", digit), key=True,
                     hint='use one of 0-9, *, #, A-D, quoted: "1", "#"')
            continue
        target = spec.get("handoff") if isinstance(spec, dict) else None
        if isinstance(target, str) and target not in agents:
            near = closest(target, sorted(agents))
            sink.add("RG610", f"dtmf digit {digit!r} hands off to unknown agent {target!r}", doc,
                     ("dtmf", digit, "handoff"),
                     hint=f"did you mean {near!r}?" if near else "name an agent defined in the folder")
