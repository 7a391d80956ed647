"""Feature-key layouts: where an Example keeps its image, name, shape and label.

One table serves pack (which keys to write), unpack (where to find the image, its name and
label) and inspect (which keys hold labels and class names):

- ``tutorial``: the tutorial's keys, tfr's default: ``image``, ``filename``, ``rows``, ``cols``,
  ``channels``, ``label``;
- ``tf``: TensorFlow's converters and the model garden: ``image/encoded``, ``image/format``,
  ``image/filename``, ``image/height``, ``image/width``, ``image/channels``,
  ``image/class/label``, ``image/class/text``;
- ``tfds``: TFDS image folders: ``image``, ``image/filename``, ``label`` (TFDS stores no
  shape: its Image feature decodes the bytes).
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from tfr.features import FeatureKind

__all__ = [
    "IMAGE_KEYS",
    "LABEL_KEYS",
    "LABEL_TEXT_KEYS",
    "LAYOUTS",
    "NAME_KEYS",
    "SHAPE_KEYS",
    "Layout",
    "find_image_key",
]

Features = dict[str, tuple[FeatureKind, list[Any]]]


class Layout(NamedTuple):
    """The keys of one layout; None where the layout has no such key."""

    name: str
    image: str
    filename: str
    label: str
    shape: tuple[str, str, str] | None = None  # height, width, channels
    format: str | None = None
    label_text: str | None = None

    def features(
        self,
        data: bytes,
        name: str,
        image_format: str,
        shape: tuple[int, int, int],
        label: int | None,
        class_name: str | None,
    ) -> Features:
        """An image's features in this layout, typed as
        :func:`tfr.features.encode_typed_parts` takes them."""
        features: Features = {
            self.image: ("bytes", [data]),
            # A name the system gave with bytes that are not UTF-8 is stored as those bytes.
            self.filename: ("bytes", [os.fsencode(name)]),
        }
        if self.shape is not None:
            for key, value in zip(self.shape, shape, strict=True):
                features[key] = ("int64", [value])
        if self.format is not None:
            features[self.format] = ("bytes", [image_format.encode()])
        if label is not None:
            features[self.label] = ("int64", [label])
            if self.label_text is not None:
                features[self.label_text] = ("bytes", [os.fsencode(class_name or "")])
        return features


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("tutorial", "image", "filename", "label", shape=("rows", "cols", "channels")),
        Layout(
            "tf",
            "image/encoded",
            "image/filename",
            "image/class/label",
            shape=("image/height", "image/width", "image/channels"),
            format="image/format",
            label_text="image/class/text",
        ),
        Layout("tfds", "image", "image/filename", "label"),
    )
}


def _keys(attribute: str) -> tuple[str, ...]:
    found = (getattr(layout, attribute) for layout in LAYOUTS.values())
    return tuple(dict.fromkeys(key for key in found if key is not None))


# What readers look for, in this order: the layouts' keys, then the keys of layouts other
# tools wrote that tfr does not write (a plain "height"/"width", "label/text").
IMAGE_KEYS = _keys("image")
NAME_KEYS = _keys("filename")
LABEL_KEYS = _keys("label")
LABEL_TEXT_KEYS: dict[str, str] = {
    **{x.label: x.label_text for x in LAYOUTS.values() if x.label_text is not None},
    "label": "label/text",
}
SHAPE_KEYS: tuple[tuple[str, str, str], ...] = (
    *(x.shape for x in LAYOUTS.values() if x.shape is not None),
    ("height", "width", "channels"),
)


def find_image_key(features: Features) -> str | None:
    """The key holding the image: a usual key if present, else the one bytes key holding an
    image format; None when there is none or more than one such key.
    """
    from tfr.images import sniff

    for key in IMAGE_KEYS:
        kind, values = features.get(key, ("", []))
        if kind == "bytes" and values:
            return key
    found = [
        key
        for key, (kind, values) in features.items()
        if kind == "bytes" and values and sniff(values[0])
    ]
    return found[0] if len(found) == 1 else None
