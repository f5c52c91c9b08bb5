"""Parses Prometheus text from stdin with prometheus_client's own parser, for the metrics
tests: prints one JSON line per sample (name, labels, value) and the family types. A text the
parser refuses is an exception and a non-zero exit."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
out = {"families": {}, "samples": []}
for family in text_string_to_metric_families(text):
    out["families"][family.name] = family.type
    for s in family.samples:
        out["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
