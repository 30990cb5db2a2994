"""Builders of skill archives and front matter, honest and hostile, shared by the
unit and HTTP tests."""

from __future__ import annotations

import gzip
import io
import stat
import struct
import tarfile
import zipfile
import zlib

SKILL_MD = "---\nname: {name}\ndescription: Say hello.\n---\n# Hello\nRun scripts/hi.py.\n"


def good(name: str = "say-hello", prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}{name}/SKILL.md": SKILL_MD.format(name=name),
        f"{prefix}{name}/scripts/hi.py": "print(1)",
    }


def make_zip(
    entries: dict[str, str | bytes],
    symlinks: dict[str, str] | None = None,
    method: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def make_tar(
    entries: dict[str, str | bytes],
    links: dict[str, str] | None = None,
    gz: bool = True,
    sparse: list[str] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    mode = "w:gz" if gz else "w"
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.GNU_FORMAT) as archive:
        for name, text in entries.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
        for name in sparse or []:
            info = tarfile.TarInfo(name)
            info.type = tarfile.GNUTYPE_SPARSE
            archive.addfile(info)
    return buffer.getvalue()


def declare_zip_size(data: bytes, name: str, size: int, crc_of: bytes | None = None) -> bytes:
    """The zip with ``name``'s uncompressed size (and optionally CRC) rewritten:
    in its local header and its central-directory record, as a forger would."""
    out = bytearray(data)
    encoded = name.encode()
    local = out.find(b"PK\x03\x04")
    while local >= 0:
        name_len = struct.unpack_from("<H", out, local + 26)[0]
        if bytes(out[local + 30 : local + 30 + name_len]) == encoded:
            struct.pack_into("<I", out, local + 22, size)
            if crc_of is not None:
                struct.pack_into("<I", out, local + 14, zlib.crc32(crc_of))
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46 : central + 46 + name_len]) == encoded:
            struct.pack_into("<I", out, central + 24, size)
            if crc_of is not None:
                struct.pack_into("<I", out, central + 16, zlib.crc32(crc_of))
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def overlapping_zip(entries: dict[str, str], first: str, alias: str) -> bytes:
    """A zip with a second central-directory record ``alias`` pointing at the data
    of ``first`` (the "overlapping files" zip bomb shape)."""
    assert len(alias) == len(first)
    data = bytearray(make_zip(dict(entries)))
    end = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack_from("<HII", data, end + 10)
    start = data.find(b"PK\x01\x02", cd_offset)
    record = None
    pos = start
    while pos < end:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        length = 46 + name_len + extra_len + comment_len
        if bytes(data[pos + 46 : pos + 46 + name_len]) == first.encode():
            record = bytearray(data[pos : pos + length])
        pos += length
    assert record is not None
    record[46 : 46 + len(alias)] = alias.encode()
    eocd = bytearray(data[end:])
    struct.pack_into("<HHI", eocd, 8, count + 1, count + 1, cd_size + len(record))
    return bytes(data[:end]) + bytes(record) + bytes(eocd)


def encrypted_zip(entries: dict[str, str], encrypted: str) -> bytes:
    """A zip whose entry ``encrypted`` has the "encrypted" flag set."""
    data = bytearray(make_zip(dict(entries), method=zipfile.ZIP_STORED))
    for signature, flag_offset, name_offset in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        pos = data.find(signature)
        while pos >= 0:
            name_len = struct.unpack_from("<H", data, pos + (26 if name_offset == 30 else 28))[0]
            if bytes(data[pos + name_offset : pos + name_offset + name_len]) == encrypted.encode():
                flags = struct.unpack_from("<H", data, pos + flag_offset)[0]
                struct.pack_into("<H", data, pos + flag_offset, flags | 0x1)
            pos = data.find(signature, pos + 4)
    return bytes(data)


def truncated_tar(name: str, declared: int, actual: bytes, skill: str = "say-hello") -> bytes:
    """A .tar.gz whose last member's header declares ``declared`` bytes and the
    stream then ends after ``actual``."""
    plain = make_tar(good(skill), gz=False)
    plain = plain.rstrip(b"\x00")  # drop the end-of-archive blocks
    plain += b"\x00" * (-len(plain) % 512)
    info = tarfile.TarInfo(name)
    info.size = declared
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    return gzip.compress(plain + header + actual)


def long_name_tar(length: int) -> bytes:
    """A .tar.gz with a GNU long-name member of ``length`` characters (highly compressible)."""
    return make_tar({**good(), "say-hello/" + "a" * length: "x"})


def billion_laughs(levels: int, fan_out: int = 10) -> str:
    """YAML whose aliases expand to ``fan_out ** (levels - 1)`` strings."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * fan_out)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines)


def set_zip_method(data: bytes, name: str, method: int) -> bytes:
    """The zip with ``name``'s compression method rewritten (e.g. to one no reader knows)."""
    out = bytearray(data)
    for signature, method_offset, len_offset, name_offset in (
        (b"PK\x03\x04", 8, 26, 30),
        (b"PK\x01\x02", 10, 28, 46),
    ):
        pos = out.find(signature)
        while pos >= 0:
            name_len = struct.unpack_from("<H", out, pos + len_offset)[0]
            if bytes(out[pos + name_offset : pos + name_offset + name_len]) == name.encode():
                struct.pack_into("<H", out, pos + method_offset, method)
            pos = out.find(signature, pos + 4)
    return bytes(out)
