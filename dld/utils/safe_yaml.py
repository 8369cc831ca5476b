"""YAML read as data: MMEngine's YAML handler with PyYAML's safe loader."""
import yaml
from mmengine.fileio.handlers import YamlHandler, register_handler

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader


class SafeLoader(_SafeLoader):
    """PyYAML's safe loader, and the one tag of plain data MMEngine writes
    that it lacks: ``!!python/tuple`` (``Config.dump('x.yaml')`` writes
    tuples so; a config dumped to YAML could not be read back)."""


SafeLoader.add_constructor('tag:yaml.org,2002:python/tuple',
                           lambda loader, node: tuple(loader.construct_sequence(node)))


class SafeYamlHandler(YamlHandler):
    """Loads YAML with ``SafeLoader`` (plain data) unless a caller names a
    loader. Why: MMEngine reads YAML configs and ``_base_`` files, and
    ``mmengine.load`` reads ``.yaml`` files, with PyYAML's full loader, so
    a ``!!python/object/apply:os.system`` tag in a YAML config ran its
    command when the config was read (a security review): a YAML file is
    taken for data, unlike a Python config."""

    def load_from_fileobj(self, file, **kwargs):
        kwargs.setdefault('Loader', SafeLoader)
        return yaml.load(file, **kwargs)


_registered = False


def register_safe_yaml() -> None:
    """Make :class:`SafeYamlHandler` the handler of ``.yaml``/``.yml`` files
    in MMEngine's file I/O (process-wide; idempotent)."""
    global _registered
    if not _registered:
        register_handler(['yaml', 'yml'])(SafeYamlHandler)
        _registered = True
