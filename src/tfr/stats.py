"""What a set of images looks like: counts, stored sizes and shapes, overall and per class.

Kept as sums, minima and maxima, so that the statistics of shards written apart (by other
processes, or by runs that were resumed) add up to exactly those of one run. A manifest and
``tfr pack --json`` show them as :meth:`ImageStats.summary`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImageStats", "ShapeStats"]


@dataclass
class _Range:
    """The smallest, largest and total of a measure over images."""

    low: int = 0
    high: int = 0
    total: int = 0

    def merge(self, other: _Range, first: bool) -> None:
        self.low = other.low if first else min(self.low, other.low)
        self.high = other.high if first else max(self.high, other.high)
        self.total += other.total

    def summary(self, count: int) -> dict[str, float]:
        return {"min": self.low, "max": self.high, "mean": round(self.total / count, 1)}


@dataclass
class ShapeStats:
    """Images counted with their stored sizes, heights, widths, channels and formats."""

    images: int = 0
    bytes: _Range = field(default_factory=_Range)
    height: _Range = field(default_factory=_Range)
    width: _Range = field(default_factory=_Range)
    channels: Counter[int] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    animated: Counter[str] = field(default_factory=Counter)  # by format

    def add(
        self,
        size: int,
        height: int,
        width: int,
        channels: int,
        image_format: str,
        animated: bool = False,
    ) -> None:
        first = not self.images
        self.images += 1
        # Once per image, twice with classes: three calls here, not three method calls each.
        for measure, value in ((self.bytes, size), (self.height, height), (self.width, width)):
            if first:
                measure.low = measure.high = value
            elif value < measure.low:
                measure.low = value
            elif value > measure.high:
                measure.high = value
            measure.total += value
        self.channels[channels] += 1
        self.formats[image_format] += 1
        if animated:
            self.animated[image_format] += 1

    def merge(self, other: ShapeStats) -> None:
        if not other.images:
            return
        first = not self.images
        self.images += other.images
        self.bytes.merge(other.bytes, first)
        self.height.merge(other.height, first)
        self.width.merge(other.width, first)
        self.channels.update(other.channels)
        self.formats.update(other.formats)
        self.animated.update(other.animated)

    def summary(self) -> dict[str, Any]:
        """For people and manifests: sizes in bytes, sides in pixels, counts by value."""
        if not self.images:
            return {"images": 0}
        return {
            "images": self.images,
            "bytes": {"total": self.bytes.total, **self.bytes.summary(self.images)},
            "height": self.height.summary(self.images),
            "width": self.width.summary(self.images),
            "channels": {str(k): v for k, v in sorted(self.channels.items())},
            "formats": dict(sorted(self.formats.items())),
            "animated": dict(sorted(self.animated.items())),
        }

    def dump(self) -> list[Any]:
        """Exactly, to be read back by :meth:`load` (a progress file keeps it)."""
        ranges = [[r.low, r.high, r.total] for r in (self.bytes, self.height, self.width)]
        channels = sorted(self.channels.items())
        formats, animated = sorted(self.formats.items()), sorted(self.animated.items())
        return [self.images, ranges, channels, formats, animated]

    @classmethod
    def load(cls, dumped: list[Any]) -> ShapeStats:
        images, ranges, channels, formats, animated = dumped
        sizes, heights, widths = (_Range(*map(int, r)) for r in ranges)
        return cls(
            int(images),
            sizes,
            heights,
            widths,
            Counter({int(k): int(v) for k, v in channels}),
            Counter({str(k): int(v) for k, v in formats}),
            Counter({str(k): int(v) for k, v in animated}),
        )


@dataclass
class ImageStats:
    """Statistics of every image stored, and of each class's."""

    total: ShapeStats = field(default_factory=ShapeStats)
    per_class: dict[str, ShapeStats] = field(default_factory=dict)

    def add(self, cls: str | None, *shape: Any) -> None:
        """An image of class ``cls``: its stored size, height, width, channels, format and
        whether it is animated, as :meth:`ShapeStats.add` takes them."""
        self.total.add(*shape)
        if cls is not None:
            stats = self.per_class.get(cls)
            if stats is None:  # not setdefault: building a ShapeStats per image cost 2 us
                stats = self.per_class[cls] = ShapeStats()
            stats.add(*shape)

    def merge(self, other: ImageStats) -> None:
        self.total.merge(other.total)
        for cls, stats in other.per_class.items():
            self.per_class.setdefault(cls, ShapeStats()).merge(stats)

    def summary(self) -> dict[str, Any]:
        summary = self.total.summary()
        if self.per_class:
            summary["per_class"] = {
                cls: stats.summary() for cls, stats in sorted(self.per_class.items())
            }
        return summary

    def dump(self) -> dict[str, Any]:
        return {
            "total": self.total.dump(),
            "per_class": {cls: s.dump() for cls, s in sorted(self.per_class.items())},
        }

    @classmethod
    def load(cls, dumped: dict[str, Any]) -> ImageStats:
        return cls(
            ShapeStats.load(dumped["total"]),
            {str(k): ShapeStats.load(v) for k, v in dumped["per_class"].items()},
        )
