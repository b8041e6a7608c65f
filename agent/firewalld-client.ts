// firewalld's direct interface through its own Python client library (firewall.client, what
// firewall-cmd itself is built on), one process and one D-Bus connection for a whole batch
// of changes: firewall-cmd changes one rule per call and spends most of each call starting
// Python, so a profile of some 50 rules took about 25 s that way.
import type { DirectFamily, DirectRule } from '../domain/firewall-firewalld.js';

/** One change to firewalld's direct configuration (the table is always filter). */
export type DirectOp =
  | { op: 'add-chain' | 'remove-chain' | 'remove-rules'; family: DirectFamily; chain: string }
  | { op: 'add-rule' | 'remove-rule'; rule: DirectRule };

/** Where firewalld's client library is importable: the interpreter firewall-cmd runs on (Debian, Fedora, RHEL). */
export const FIREWALLD_PYTHON = '/usr/bin/python3';

/**
 * Reads {config: "runtime" | "permanent", ops: DirectOp[], read: bool} on stdin, makes the
 * changes in order, and with `read` prints the chains and rules afterwards as
 * `firewall-cmd --direct --get-all-chains` / `--get-all-rules` print them. Like
 * firewall-cmd, a chain or rule already there (or already gone) is a warning, not an error.
 */
export const FIREWALLD_BATCH = String.raw`
import json, sys
from firewall.client import FirewallClient
from firewall.functions import joinArgs
req = json.load(sys.stdin)
fw = FirewallClient()
d = fw.config().direct() if req["config"] == "permanent" else fw
for op in req["ops"]:
    kind = op["op"]
    try:
        if kind == "add-rule" or kind == "remove-rule":
            r = op["rule"]
            call = d.addRule if kind == "add-rule" else d.removeRule
            call(r["family"], "filter", r["chain"], r["priority"], r["args"])
        else:
            call = {"add-chain": d.addChain, "remove-chain": d.removeChain, "remove-rules": d.removeRules}[kind]
            call(op["family"], "filter", op["chain"])
    except Exception as e:
        msg = str(e)
        if "ALREADY_ENABLED" in msg or "NOT_ENABLED" in msg:
            continue
        sys.stderr.write("firewalld refused %s: %s\n" % (json.dumps(op), msg))
        sys.exit(1)
if req.get("read"):
    chains = ["%s %s %s" % tuple(c) for c in d.getAllChains()]
    rules = ["%s %s %s %d %s" % (r[0], r[1], r[2], r[3], joinArgs(r[4])) for r in d.getAllRules()]
    print(json.dumps({"chains": "\n".join(chains), "rules": "\n".join(rules)}))
`;
