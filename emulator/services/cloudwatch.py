"""CloudWatch's side of Embedded Metric Format, locally: metrics read from the functions' log lines.

On AWS, CloudWatch Logs extracts a metric from every log line that carries an `_aws.CloudWatchMetrics` directive
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
`Metrics` does the same with the lines the emulator logs for its functions and keeps the values, so `make local`
can say on exit what it served. It knows no metric, namespace or dimension of any project: it reads the directives.
"""

import json
import logging
import statistics
from collections import defaultdict

# (namespace, metric, dimension names) -> {dimension values: [values]}
_Series = dict[tuple[str, str, tuple[str, ...]], dict[tuple[str, ...], list[float]]]


class Metrics(logging.Handler):
    """A logging handler: attach it to the logger the functions' output goes through."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0
        self.units: dict[tuple[str, str], str] = {}
        self.series: _Series = defaultdict(lambda: defaultdict(list))
        self.common: set[str] | None = None  # dimensions in every dimension set seen: the lines' context

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith("{") or '"_aws"' not in message:
            return
        try:
            self.add(json.loads(message))
        except (ValueError, KeyError, TypeError):  # not an EMF line after all: CloudWatch would skip it too
            return

    def add(self, line: dict) -> None:
        for directive in line["_aws"]["CloudWatchMetrics"]:
            namespace = directive["Namespace"]
            for metric in directive["Metrics"]:
                name = metric["Name"]
                if name not in line:
                    continue
                values = line[name] if isinstance(line[name], list) else [line[name]]
                self.units[namespace, name] = metric.get("Unit", "None")
                for dimensions in directive["Dimensions"]:
                    self.common = set(dimensions) if self.common is None else self.common & set(dimensions)
                    key = tuple(str(line[d]) for d in dimensions)
                    self.series[namespace, name, tuple(dimensions)][key].extend(float(v) for v in values)
        self.lines += 1

    def summary(self) -> list[str]:
        """One line per metric and dimension set. Dimensions every set has and whose value never changed (the
        context, e.g. a stack) are said once at the top; the others split the line, one part per value."""
        if not self.lines:
            return ["No metrics: the functions wrote no EMF lines."]
        context = {
            name: values.pop()
            for name in sorted(self.common or ())
            if len(values := {v for (_, _, dims), groups in self.series.items() for v in _values(dims, groups, name)})
            == 1
        }
        where = f" ({', '.join(f'{k}={v}' for k, v in context.items())})" if context else ""
        out = [f"Metrics from {self.lines} EMF lines in the functions' logs{where}:"]
        for (namespace, name, dimensions), groups in sorted(self.series.items()):
            unit = self.units[namespace, name]
            shown = [i for i, d in enumerate(dimensions) if d not in context]
            if not shown:
                (values,) = groups.values()
                out.append(f"  {namespace} {name}: {_describe(values, unit)}")
                continue
            parts = [
                f"{'/'.join(key[i] for i in shown)} {_describe(values, unit)}" for key, values in sorted(groups.items())
            ]
            out.append(f"  {namespace} {name} by {'/'.join(dimensions[i] for i in shown)}: " + ", ".join(parts))
        return out


def _values(dimensions: tuple[str, ...], groups: dict, name: str) -> set[str]:
    return {key[dimensions.index(name)] for key in groups} if name in dimensions else set()


def _describe(values: list[float], unit: str) -> str:
    """Counts add up; anything else (times, sizes) is a distribution."""
    if unit == "Count":
        return _number(sum(values))
    quantiles = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else values * 9
    p50, p90 = statistics.median(values), quantiles[8]
    suffix = " ms" if unit == "Milliseconds" else f" {unit}" if unit != "None" else ""
    return (
        f"p50 {_number(p50)}{suffix}, p90 {_number(p90)}{suffix}, max {_number(max(values))}{suffix} (n={len(values)})"
    )


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"
