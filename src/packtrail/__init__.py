"""packtrail: serialization and track-and-trace for medicines on the GS1 standards.

The capability packages live beside this file (see the README's architecture section);
``packtrail.gs1`` is the foundation every other package stands on.
"""

from packtrail.native import guard as _guard

__version__ = "0.1.0"

_guard()  # compiled twins of the capture's hot modules run only while current (packtrail.native)
