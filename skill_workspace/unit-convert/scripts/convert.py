"""Convert a value between units (standard library only)."""

import sys

# factor to the base unit of each dimension
UNITS = {
    "length": {
        "mm": 0.001,
        "cm": 0.01,
        "m": 1.0,
        "km": 1000.0,
        "in": 0.0254,
        "ft": 0.3048,
        "yd": 0.9144,
        "mi": 1609.344,
        "nmi": 1852.0,
    },
    "mass": {
        "mg": 1e-6,
        "g": 0.001,
        "kg": 1.0,
        "t": 1000.0,
        "oz": 0.028349523125,
        "lb": 0.45359237,
        "st": 6.35029318,
    },
    "volume": {
        "ml": 0.001,
        "l": 1.0,
        "m3": 1000.0,
        "tsp": 0.00492892159375,
        "tbsp": 0.01478676478125,
        "floz": 0.0295735295625,
        "cup": 0.2365882365,
        "pt": 0.473176473,
        "qt": 0.946352946,
        "gal": 3.785411784,
    },
    "speed": {"m/s": 1.0, "km/h": 1 / 3.6, "mph": 0.44704, "kn": 1852 / 3600},
    "data": {
        "B": 1,
        "KB": 1e3,
        "MB": 1e6,
        "GB": 1e9,
        "TB": 1e12,
        "KiB": 1024,
        "MiB": 1024**2,
        "GiB": 1024**3,
        "TiB": 1024**4,
    },
}
TEMPERATURE = ("degC", "degF", "K")


def to_kelvin(value, unit):
    if unit == "degC":
        return value + 273.15
    if unit == "degF":
        return (value - 32) * 5 / 9 + 273.15
    return value


def from_kelvin(value, unit):
    if unit == "degC":
        return value - 273.15
    if unit == "degF":
        return (value - 273.15) * 9 / 5 + 32
    return value


def convert(value, source, target):
    if source in TEMPERATURE and target in TEMPERATURE:
        return from_kelvin(to_kelvin(value, source), target)
    for table in UNITS.values():
        if source in table and target in table:
            return value * table[source] / table[target]
    raise ValueError(f"cannot convert {source!r} to {target!r}")


def main(argv):
    if argv[1:] == ["--list"]:
        for dimension, table in UNITS.items():
            print(f"{dimension}: {' '.join(table)}")
        print(f"temperature: {' '.join(TEMPERATURE)}")
        return 0
    if len(argv) != 4:
        print("usage: convert.py VALUE FROM_UNIT TO_UNIT", file=sys.stderr)
        return 2
    try:
        value = float(argv[1])
        result = convert(value, argv[2], argv[3])
    except ValueError as error:
        print(f"error: {error}; run with --list for the units", file=sys.stderr)
        return 1
    print(f"{value:g} {argv[2]} = {result:.6g} {argv[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
