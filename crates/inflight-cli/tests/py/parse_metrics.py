"""Parses the metrics text from stdin with prometheus_client's own OpenMetrics parser (what
the endpoints serve, as their Content-Type says, and what Prometheus negotiates), for the
metrics tests: prints one JSON line per sample (name, labels, value) and the family types. A
text the parser refuses is an exception and a non-zero exit, and so is a family the parser
could not type (a counter read as `unknown` is a format error, not a counter)."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

text = sys.stdin.read()
out = {"families": {}, "samples": []}
for family in text_string_to_metric_families(text):
    if family.type == "unknown":
        sys.exit(f"family {family.name} has no type: the text is not OpenMetrics as served")
    out["families"][family.name] = family.type
    for s in family.samples:
        out["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
