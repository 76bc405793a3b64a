"""Image input (runtime/Image.cpp: libpng and libjpeg-turbo). PNGs written
here with zlib + struct (every colour type and bit depth, Adam7 interlacing,
every filter type) and JPEGs written by PIL (baseline, progressive, chroma
subsampling, gray, CMYK) are decoded by the runtime under ASan/UBSan
(clusopt-runtime-image-test) and compared with PIL's decoding, pixel for
pixel; decoded images are resized and normalised and compared with a NumPy
implementation of the same bilinear resize (align_corners=False) and
ImageNet normalisation; then the errors for broken, truncated and huge
files, a mutation smoke test, and clusopt-run on a PNG and a JPEG against
the same image as a .npy."""

import os
import pathlib
import struct
import subprocess
import zlib

import io
import math

import numpy as np
import pytest
import PIL
from PIL import Image

from clusopt import export
from clusopt.models import paca
from clusopt.toolchain import build_dir

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


# --- a small PNG writer ---------------------------------------------------

def chunk(kind, body, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", crc & 0xffffffff)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(samples, bpp, filters):
    """samples: uint8 [H, W*C]; row y gets filters[y % len(filters)]."""
    out = bytearray()
    h, stride = samples.shape
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        cur = samples[y].astype(np.int64)
        f = filters[y % len(filters)]
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
        if f == 0:
            pred = np.zeros(stride, np.int64)
        elif f == 1:
            pred = left
        elif f == 2:
            pred = prev
        elif f == 3:
            pred = (left + prev) // 2
        else:
            pred = np.array([paeth(a, b, c)
                             for a, b, c in zip(left, prev, upleft)],
                            np.int64)
        out.append(f)
        out += ((cur - pred) % 256).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def scanlines(pixels, depth):
    """uint8/uint16 [H, W, C] -> bytes [H, stride] at `depth` bits."""
    h, w, c = pixels.shape
    if depth == 16:
        return pixels.astype(">u2").reshape(h, w * c).view(np.uint8)
    if depth == 8:
        return pixels.astype(np.uint8).reshape(h, w * c)
    per = 8 // depth
    flat = pixels.reshape(h, w * c).astype(np.uint8)
    pad = (-flat.shape[1]) % per
    flat = np.pad(flat, ((0, 0), (0, pad)))
    shifts = (8 - depth * (1 + np.arange(per))).astype(np.uint8)
    return (flat.reshape(h, -1, per) << shifts).sum(axis=2).astype(np.uint8)


def png_bytes(pixels, color_type, filters=(0, 1, 2, 3, 4), palette=None,
              idat_pieces=3, ihdr=None, raw=None, level=6, depth=8,
              interlace=0, extra_chunks=()):
    """pixels: [H, W, C] with C = CHANNELS[color_type], uint8 (or uint16
    for depth 16; values below 2**depth for smaller depths). `ihdr`
    overrides IHDR fields (a dict), `raw` the filtered scanlines."""
    h, w, c = pixels.shape
    assert c == CHANNELS[color_type]
    fields = dict(width=w, height=h, depth=depth, color=color_type,
                  compression=0, filter=0, interlace=interlace)
    fields.update(ihdr or {})
    header = struct.pack(">IIBBBBB", *fields.values())
    bpp = max(1, c * depth // 8)
    if raw is None:
        if interlace:
            raw = b""
            for x0, y0, dx, dy in ADAM7:
                sub = pixels[y0::dy, x0::dx]
                if sub.size:
                    raw += filter_rows(scanlines(sub, depth), bpp, filters)
        else:
            raw = filter_rows(scanlines(pixels, depth), bpp, filters)
    data = zlib.compress(raw, level)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    out += chunk(b"tEXt", b"Comment\x00written by test_images.py")
    for kind, body in extra_chunks:
        out += chunk(kind, body)
    if palette is not None:
        out += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    step = max(1, -(-len(data) // idat_pieces))
    for i in range(0, len(data), step):
        out += chunk(b"IDAT", data[i:i + step])
    return out + chunk(b"IEND", b"")


def to_rgb(pixels, color_type, palette=None):
    if color_type in (0, 4):
        return np.repeat(pixels[..., :1], 3, axis=2)
    if color_type == 3:
        return palette[pixels[..., 0]]
    return pixels[..., :3]


# --- the reference: PIL + torchvision/timm's evaluation transforms ---------

INTERPOLATION = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
# Pillow <= 12 always runs the horizontal pass first, as the runtime does:
# identical bytes. Pillow 13 sometimes runs the vertical one first.
PIL_SAME_ORDER = int(PIL.__version__.split(".")[0]) <= 12


def resized_size(h, w, height, width, crop_pct):
    """timm's transforms_imagenet_eval: scale_size = floor(size / crop_pct);
    square: torchvision's Resize(int) (shorter side to scale_size, longer
    int(scale_size * long / short)); otherwise ResizeKeepRatio (ratio
    min(h / sh, w / sw), each side rounded)."""
    sh, sw = math.floor(height / crop_pct), math.floor(width / crop_pct)
    if sh == sw:
        short, long = min(h, w), max(h, w)
        new_long = int(sh * long / short)
        return (new_long, sh) if w <= h else (sh, new_long)
    ratio = min(h / sh, w / sw)
    return round(h / ratio), round(w / ratio)


def reference_pixels(rgb, height, width=None, crop_pct=0.875,
                     interpolation="bicubic"):
    """uint8 [height, width, 3]: PIL's resize, then torchvision's
    CenterCrop (offsets int(round((size - crop) / 2.)))."""
    width = width or height
    nh, nw = resized_size(*rgb.shape[:2], height, width, crop_pct)
    img = Image.fromarray(rgb).resize((nw, nh),
                                      INTERPOLATION[interpolation])
    top = int(round((nh - height) / 2.))
    left = int(round((nw - width) / 2.))
    return np.array(img.crop((left, top, left + width, top + height)))


def normalise(pixels, batch=1):
    out = ((pixels / 255.0 - MEAN) / STD).transpose(2, 0, 1)[None]
    return np.broadcast_to(out, (batch,) + out.shape[1:])


def preprocess(rgb, resolution, batch=1, **options):
    return normalise(reference_pixels(rgb, resolution, **options), batch)


def test_reference_sizes_are_timms():
    """Hand-checked against timm: 224 at 0.875 covers 256; 500x375
    (landscape) becomes 256x341; a 224x288 target covers 256x329."""
    assert resized_size(375, 500, 224, 224, 0.875) == (256, 341)
    assert resized_size(500, 375, 224, 224, 0.875) == (341, 256)
    assert resized_size(375, 500, 224, 288, 0.875) == (256, 341)
    assert resized_size(600, 500, 224, 288, 0.875) == (395, 329)
    assert resized_size(100, 100, 64, 64, 1.0) == (64, 64)


# --- the driver --------------------------------------------------------------

def driver():
    path = pathlib.Path(build_dir()) / "bin" / "clusopt-runtime-image-test"
    if not path.exists():
        pytest.fail(f"{path} is missing; build clusopt first")
    return str(path)


def decode(tmp_path, data, resolution, batch=1, name="in.png", extra=()):
    """resolution: N or "HxW" (preprocess), 0 (decoded pixels) or "rHxW"
    (the decoded image resized); extra: [CROP_PCT [bilinear]]."""
    (tmp_path / name).write_bytes(data)
    out = subprocess.run([driver(), str(tmp_path / name), str(resolution),
                          str(batch), str(tmp_path / "out.npy"),
                          *map(str, extra)],
                         capture_output=True, text=True, timeout=60)
    assert "Sanitizer" not in out.stderr and "runtime error" not in out.stderr
    return out


def decode_ok(tmp_path, data, resolution, batch=1, extra=()):
    out = decode(tmp_path, data, resolution, batch, extra=extra)
    assert out.returncode == 0, out.stderr
    return np.load(tmp_path / "out.npy")


def random_image(color_type, h, w, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, CHANNELS[color_type]), np.uint8)
    palette = None
    if color_type == 3:
        palette = rng.integers(0, 256, (200, 3), np.uint8)
        pixels %= 200
    return pixels, palette


@pytest.mark.parametrize("color_type", [0, 2, 3, 4, 6],
                         ids=["gray", "rgb", "palette", "gray_alpha", "rgba"])
@pytest.mark.parametrize("h,w,resolution", [(32, 32, 32), (23, 37, 32),
                                            (5, 7, 64), (70, 50, 64)])
def test_decode_and_preprocess_match_pil(tmp_path, color_type, h, w,
                                         resolution):
    pixels, palette = random_image(color_type, h, w, seed=h * w + color_type)
    got = decode_ok(tmp_path, png_bytes(pixels, color_type, palette=palette),
                    resolution)
    want = preprocess(to_rgb(pixels, color_type, palette), resolution)
    assert got.dtype == np.float32 and got.shape == want.shape
    # One grey level is 1/255/0.229 ~ 0.017.
    assert np.abs(got - want).max() <= 1 / 255 / 0.225 + 1e-5


@pytest.mark.parametrize("f", [0, 1, 2, 3, 4])
def test_each_filter_alone(tmp_path, f):
    pixels, _ = random_image(6, 9, 11, seed=f)
    got = decode_ok(tmp_path, png_bytes(pixels, 6, filters=(f,),
                                        idat_pieces=1), 32)
    assert np.abs(got - preprocess(to_rgb(pixels, 6), 32)).max() <= 1e-5


def test_batch_replicates(tmp_path):
    pixels, _ = random_image(2, 16, 16, seed=1)
    got = decode_ok(tmp_path, png_bytes(pixels, 2, level=0), 32, batch=3)
    assert got.shape == (3, 3, 32, 32)
    assert np.abs(got - preprocess(pixels, 32, 3)).max() <= 1e-5


RESIZES = [(37, 53, 16, 24), (37, 53, 80, 100), (300, 40, 17, 90),
           (9, 11, 9, 30), (64, 64, 63, 64), (200, 150, 7, 5)]


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
@pytest.mark.parametrize("h,w,rh,rw", RESIZES,
                         ids=[f"{a}x{b}_to_{c}x{d}" for a, b, c, d in RESIZES])
def test_resize_matches_pil(tmp_path, h, w, rh, rw, interpolation):
    """Down (antialiased: the filter support grows with the scale), up,
    one axis unchanged: PIL's Image.resize within one level on photo-like
    content. The runtime runs PIL's horizontal pass first, as
    Pillow <= 12 always does (identical bytes, on noise too); Pillow 13
    sometimes runs the vertical pass first, which rounds and clips its
    8-bit intermediate differently."""
    rgb = photo(h, w, seed=rh)
    extra = [0.875, "bilinear"] if interpolation == "bilinear" else []
    got = decode_ok(tmp_path, png_bytes(rgb, 2), f"r{rh}x{rw}", extra=extra)
    resample = INTERPOLATION[interpolation]
    want = np.array(Image.fromarray(rgb).resize((rw, rh), resample))
    # Shrinking one axis while growing the other, Pillow 13's pass order
    # can differ by several levels at sharp edges (clipped intermediate):
    # there the reference is PIL's two passes, horizontal first.
    mixed = (rh < h) != (rw < w) and rh != h and rw != w
    if mixed and not PIL_SAME_ORDER:
        want = np.array(Image.fromarray(rgb).resize((rw, h), resample).resize(
            (rw, rh), resample))
    tolerance = 0 if PIL_SAME_ORDER or mixed else 1
    assert np.abs(got.astype(int) - want).max() <= tolerance
    # The same bytes as PIL's two passes run horizontal first, on noise.
    rgb = np.random.default_rng(h * w + rh).integers(0, 256, (h, w, 3),
                                                     np.uint8)
    got = decode_ok(tmp_path, png_bytes(rgb, 2), f"r{rh}x{rw}", extra=extra)
    wide = Image.fromarray(rgb).resize((rw, h), INTERPOLATION[interpolation])
    assert np.array_equal(got, np.array(
        wide.resize((rw, rh), INTERPOLATION[interpolation])))


PREPROCESS = [((375, 500), 224, 0.875), ((500, 375), 224, 0.875),
              ((333, 333), 224, 0.875), ((101, 77), 64, 0.9),
              ((480, 640), "224x288", 0.875), ((640, 480), "96x64", 0.95),
              ((64, 100), 64, 1.0), ((30, 20), 32, 0.875)]


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
@pytest.mark.parametrize("size,resolution,crop_pct", PREPROCESS,
                         ids=[f"{a}x{b}_{r}_{c}"
                              for (a, b), r, c in PREPROCESS])
def test_preprocess_matches_timm_eval(tmp_path, size, resolution, crop_pct,
                                      interpolation):
    """Resize to cover floor(resolution / crop_pct), centre crop, ImageNet
    normalisation, against PIL + the torchvision/timm recipe: within 1/255
    per pixel before normalisation."""
    rgb = photo(*size, seed=size[0])
    height, width = (int(v) for v in str(resolution).split("x")) \
        if "x" in str(resolution) else (resolution, resolution)
    extra = [crop_pct] + (["bilinear"] if interpolation == "bilinear" else [])
    got = decode_ok(tmp_path, png_bytes(rgb, 2), resolution, extra=extra)
    assert got.shape == (1, 3, height, width)
    pixels = (got[0].transpose(1, 2, 0) * STD + MEAN) * 255
    want = reference_pixels(rgb, height, width, crop_pct, interpolation)
    assert np.abs(pixels - want).max() <= (0 if PIL_SAME_ORDER else 1) + 1e-3


def test_preprocess_refuses_bad_crop_fraction(tmp_path):
    out = decode(tmp_path, png_bytes(photo(20, 30), 2), 8, extra=[0])
    assert out.returncode == 1
    assert "preprocessImage: size 8x8 and batch 1 must be positive, the " \
        "crop fraction 0.00 from 0.01 to 1" in out.stderr, out.stderr


def decode_pixels(tmp_path, data):
    """The runtime's decoded RGB, uint8 [H, W, 3]."""
    out = decode(tmp_path, data, 0)
    assert out.returncode == 0, out.stderr
    return np.load(tmp_path / "out.npy")


def pil_rgb(data):
    return np.array(Image.open(io.BytesIO(data)).convert("RGB"))


# (colour type, bit depth) for every combination PNG allows.
PNG_KINDS = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16),
             (3, 1), (3, 2), (3, 4), (3, 8), (4, 8), (4, 16), (6, 8), (6, 16)]


def png_image(color_type, depth, h, w, seed):
    rng = np.random.default_rng(seed)
    c = CHANNELS[color_type]
    top = 1 << depth
    palette = None
    if color_type == 3:
        palette = rng.integers(0, 256, (top, 3), np.uint8)
        top = min(top, 200 if depth == 8 else top)
        palette = palette[:max(top, 2)]
    dtype = np.uint16 if depth == 16 else np.uint8
    pixels = rng.integers(0, top, (h, w, c)).astype(dtype)
    return pixels, palette


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
@pytest.mark.parametrize("interlace", [0, 1], ids=["plain", "adam7"])
@pytest.mark.parametrize("color_type,depth", PNG_KINDS,
                         ids=[f"type{t}_{d}bit" for t, d in PNG_KINDS])
def test_png_matches_pil(tmp_path, color_type, depth, interlace):
    """Every colour type and bit depth, plain and interlaced, odd sizes (so
    Adam7's passes and sub-byte rows end mid-byte): the same pixels as
    PIL's convert("RGB"), except 16-bit gray, where PIL clips the samples
    to 255 and the runtime keeps their high byte, as for 16-bit colour."""
    pixels, palette = png_image(color_type, depth, 13, 11,
                                seed=depth * 10 + color_type)
    # A tRNS chunk: ignored (alpha is dropped anyway).
    trns = [(b"tRNS", bytes(range(len(palette))))] if palette is not None \
        else []
    data = png_bytes(pixels, color_type, palette=palette, depth=depth,
                     interlace=interlace, extra_chunks=trns)
    got = decode_pixels(tmp_path, data)
    assert got.shape == (13, 11, 3)
    if color_type == 0 and depth == 16:
        want = np.repeat((pixels >> 8).astype(np.uint8), 3, axis=2)
        assert not np.array_equal(pil_rgb(data), want)  # PIL clips
    else:
        want = pil_rgb(data)
    assert np.array_equal(got, want)


def test_png_16bit_keeps_high_byte(tmp_path):
    pixels = np.array([[[0x1234, 0xabcd, 0xff00]]], np.uint16)
    got = decode_pixels(tmp_path, png_bytes(pixels, 2, depth=16))
    assert got.tolist() == [[[0x12, 0xab, 0xff]]]


def jpeg_bytes(pixels, mode=None, **options):
    out = io.BytesIO()
    Image.fromarray(pixels, mode).save(out, "JPEG", **options)
    return out.getvalue()


def photo(h=37, w=53, seed=0):
    """Smooth gradients plus noise: JPEG-like content at an odd size (so
    MCUs are partial at the right and bottom edges)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 4, y * 6, (x * y) % 256], -1)
    noise = np.random.default_rng(seed).integers(0, 30, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


JPEG_KINDS = {
    "baseline_420": dict(quality=90),
    "baseline_422": dict(quality=90, subsampling=1),
    "baseline_444": dict(quality=95, subsampling=0),
    "progressive": dict(quality=90, progressive=True),
    "optimized_restart": dict(quality=75, optimize=True,
                              restart_marker_blocks=2),
}


@pytest.mark.parametrize("options", JPEG_KINDS.values(),
                         ids=JPEG_KINDS.keys())
def test_jpeg_matches_pil(tmp_path, options):
    """Within one level of PIL (the IDCT and upsampling are libjpeg-turbo's
    defaults in both; measured: identical)."""
    data = jpeg_bytes(photo(), **options)
    got = decode_pixels(tmp_path, data)
    assert got.shape == (37, 53, 3)
    assert np.abs(got.astype(int) - pil_rgb(data)).max() <= 1


def test_jpeg_gray_matches_pil(tmp_path):
    data = jpeg_bytes(photo()[..., 1])
    got = decode_pixels(tmp_path, data)
    assert np.abs(got.astype(int) - pil_rgb(data)).max() <= 1
    assert np.array_equal(got[..., 0], got[..., 2])


def test_jpeg_cmyk_converted_as_pil(tmp_path):
    """CMYK (PIL writes an Adobe marker, so the values are stored inverted)
    becomes RGB as PIL's convert("RGB") does it."""
    img = photo(seed=3)
    cmyk = np.concatenate([img, img[..., 2:] // 2], axis=2)
    data = jpeg_bytes(cmyk, "CMYK", quality=90)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    got = decode_pixels(tmp_path, data)
    assert np.abs(got.astype(int) - pil_rgb(data)).max() <= 1


def test_jpeg_resized_matches_numpy(tmp_path):
    data = jpeg_bytes(photo(), quality=90)
    got = decode_ok(tmp_path, data, 32)
    assert np.abs(got - preprocess(pil_rgb(data), 32)).max() <= 1e-5


def broken_cases():
    """(name, bytes, message) for files the decoders must refuse."""
    pixels, _ = random_image(2, 8, 8, seed=2)
    good = png_bytes(pixels, 2)
    raw = filter_rows(pixels.reshape(8, 24), 3, (0,))
    cases = [
        ("signature", b"GIF89a" + good[6:],
         "not a PNG or JPEG image (no PNG or JPEG signature)"),
        ("empty", b"", "not a PNG or JPEG image"),
        ("truncated", good[:len(good) // 2],
         "bad PNG: the file ends early (truncated?)"),
        ("no_iend", good[:-12], "bad PNG: the file ends early (truncated?)"),
        ("bad_crc", good[:29] + bytes([good[29] ^ 1]) + good[30:],
         "bad PNG: IHDR: CRC error"),
        ("zero_width", png_bytes(pixels, 2, ihdr=dict(width=0)),
         "bad PNG: Invalid IHDR data (Image width is zero in IHDR)"),
        ("colour_type", png_bytes(pixels[..., :1], 0, ihdr=dict(color=5)),
         "bad PNG: Invalid IHDR data (Invalid color type in IHDR)"),
        ("rgb_4bit", png_bytes(pixels, 2, ihdr=dict(depth=4)),
         "Invalid color type/bit depth combination in IHDR"),
        ("huge", png_bytes(pixels, 2, ihdr=dict(width=0x7fffffff,
                                                height=0x7fffffff)),
         "bad PNG: Invalid IHDR data (Image height exceeds user limit in "
         "IHDR)"),
        ("over_side_limit", png_bytes(pixels, 2, ihdr=dict(width=40000,
                                                           height=2)),
         "bad PNG: 40000x2 is larger than the limit (32768 per side, "
         "67108864 pixels)"),
        ("over_pixel_limit", png_bytes(pixels, 2, ihdr=dict(width=30000,
                                                            height=30000)),
         "bad PNG: 30000x30000 is larger than the limit"),
        ("huge_within_limits", png_bytes(pixels, 2, ihdr=dict(width=8000,
                                                              height=8000)),
         "bytes cannot hold the 192008000 bytes of image data a 8000x8000 "
         "image needs (truncated?)"),
        ("inflates_short", png_bytes(pixels, 2, raw=raw[:-5]),
         "bad PNG: Not enough image data"),
        ("filter_type", png_bytes(pixels, 2, raw=bytes([5]) + raw[1:]),
         "bad PNG: bad adaptive filter value"),
        ("no_plte", png_bytes(pixels[..., :1], 3),
         "bad PNG: IDAT: Missing PLTE before IDAT"),
        ("critical_chunk", good[:33] + chunk(b"ABCD", b"x") + good[33:],
         "bad PNG: ABCD: unhandled critical chunk"),
    ]
    # A zlib stream with a corrupted deflate block (CRC fixed up).
    start = good.index(b"IDAT") - 4
    length = struct.unpack(">I", good[start:start + 4])[0]
    body = bytearray(good[start + 8:start + 8 + length])
    body[0] ^= 0xff  # the zlib header's CMF byte
    cases.append(("corrupt_zlib", good[:start] + chunk(b"IDAT", bytes(body)) +
                  good[start + 12 + length:],
                  "bad PNG: IDAT: invalid window size"))

    jpeg = jpeg_bytes(photo(), quality=90)
    sof = jpeg.index(b"\xff\xc0")
    sos = jpeg.index(b"\xff\xda")

    def patched(at, new):
        return jpeg[:at] + new + jpeg[at + len(new):]

    scrambled = bytearray(jpeg)
    for i in range(sos + 20, len(jpeg) - 10, 7):
        scrambled[i] = 0xff if scrambled[i - 1] != 0xff else 0
    cases += [
        ("jpeg_truncated", jpeg[:len(jpeg) // 2],
         "bad JPEG: Premature end of JPEG file"),
        ("jpeg_header_only", jpeg[:sos], "bad JPEG: Premature end of JPEG "
         "file"),
        ("jpeg_soi_only", b"\xff\xd8\xff", "bad JPEG: Premature end"),
        ("jpeg_huge", patched(sof + 5, struct.pack(">HH", 60000, 60000)),
         "bad JPEG: 60000x60000 is larger than the limit (32768 per side, "
         "67108864 pixels)"),
        ("jpeg_zero_height", patched(sof + 5, struct.pack(">HH", 0, 10)),
         "bad JPEG: Empty JPEG image"),
        ("jpeg_corrupt_scan", bytes(scrambled),
         "bad JPEG: Corrupt JPEG data: premature end of data segment"),
        ("jpeg_no_quant_table",
         patched(jpeg.index(b"\xff\xdb") + 1, b"\x01"),
         "bad JPEG: Quantization table 0x00 was not defined"),
    ]
    return cases


@pytest.mark.parametrize("name,data,message", broken_cases(),
                         ids=[c[0] for c in broken_cases()])
def test_errors(tmp_path, name, data, message):
    out = decode(tmp_path, data, 32)
    assert out.returncode == 1, out.stdout
    assert f"error: {tmp_path / 'in.png'}: " in out.stderr
    assert message in out.stderr, out.stderr


def test_mutations_never_crash(tmp_path):
    """Random byte flips inside chunk bodies, with the CRCs recomputed so
    the damage reaches IHDR, PLTE and IDAT parsing: every input is either
    decoded or refused with an error, never a crash or sanitizer report."""
    pixels, palette = random_image(3, 12, 10, seed=7)
    good = png_bytes(pixels, 3, palette=palette)
    rng = np.random.default_rng(11)
    chunks, pos = [], 8
    while pos < len(good):
        n = struct.unpack(">I", good[pos:pos + 4])[0]
        chunks.append((good[pos + 4:pos + 8], good[pos + 8:pos + 8 + n]))
        pos += 12 + n
    outcomes = set()
    for i in range(60):
        parts = [bytearray(b) for _, b in chunks]
        k = rng.integers(len(parts))
        if parts[k]:
            for _ in range(rng.integers(1, 4)):
                parts[k][rng.integers(len(parts[k]))] = rng.integers(256)
        data = b"\x89PNG\r\n\x1a\n" + b"".join(
            chunk(kind, bytes(b)) for (kind, _), b in zip(chunks, parts))
        out = decode(tmp_path, data, 32)
        assert out.returncode in (0, 1), out.stderr
        outcomes.add(out.returncode)
    assert outcomes == {0, 1}


def test_jpeg_mutations_never_crash(tmp_path):
    """Random byte flips anywhere after SOI, in a baseline and a progressive
    JPEG: decoded or refused with an error, never a crash, sanitizer report
    or exit() from libjpeg."""
    rng = np.random.default_rng(12)
    outcomes = set()
    for progressive in (False, True):
        good = bytearray(jpeg_bytes(photo(16, 24), quality=80,
                                    progressive=progressive))
        for i in range(40):
            data = bytearray(good)
            for _ in range(rng.integers(1, 4)):
                data[rng.integers(3, len(data))] = rng.integers(256)
            out = decode(tmp_path, bytes(data), 32)
            assert out.returncode in (0, 1), out.stderr
            if out.returncode:
                assert "bad JPEG: " in out.stderr, out.stderr
            outcomes.add(out.returncode)
    assert outcomes == {0, 1}


# --- clusopt-run --------------------------------------------------------------

def run_tool(*args):
    path = pathlib.Path(build_dir()) / "bin" / "clusopt-run"
    if not path.exists():
        pytest.fail(f"{path} is missing; build clusopt first")
    return subprocess.run([str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def run_paca(tmp_path, image, *extra):
    out = run_tool("--model", "paca_tiny", "--weights",
                   tmp_path / "w.safetensors", "--image", image,
                   "--runs", 1, "--threads", 2, "--dump-logits",
                   tmp_path / "logits.npy", *extra)
    assert out.returncode == 0, out.stderr
    return out, np.load(tmp_path / "logits.npy")


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_clusopt_run_image_matches_npy(tmp_path, kind):
    cfg = paca.config("tiny")
    weights = paca.random_weights(cfg, seed=3, bias_std=0.02)
    export.export_state_dict(weights, tmp_path / "w.safetensors", dtype="f32")
    if kind == "png":
        pixels, _ = random_image(6, 50, 70, seed=5)
        data, rgb = png_bytes(pixels, 6), to_rgb(pixels, 6)
    else:
        data = jpeg_bytes(photo(50, 70), quality=90, progressive=True)
        rgb = pil_rgb(data)
    # By the signature: the extension does not matter.
    (tmp_path / "photo.img").write_bytes(data)
    np.save(tmp_path / "ref.npy", np.ascontiguousarray(
        preprocess(rgb, 64, 2), np.float32))
    out, got = run_paca(tmp_path, tmp_path / "photo.img", "--batch", 2,
                        "--resolution", 64)
    assert "images [2, 3, 64, 64]" in out.stdout
    _, want = run_paca(tmp_path, tmp_path / "ref.npy", "--resolution", 64)
    assert np.array_equal(got[0], got[1])
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    # Errors name the file; the resolution rule is the model's.
    out = run_tool("--model", "paca_tiny", "--weights",
                   tmp_path / "w.safetensors", "--image",
                   tmp_path / "photo.img", "--resolution", 48)
    assert out.returncode == 1
    assert "--resolution 48 is not a positive multiple of 32" in out.stderr
    (tmp_path / "photo.jpg").write_bytes(data[:len(data) // 2])
    out = run_tool("--model", "paca_tiny", "--weights",
                   tmp_path / "w.safetensors", "--image",
                   tmp_path / "photo.jpg", "--resolution", 64)
    assert out.returncode == 1
    message = {"png": "bad PNG: the file ends early (truncated?)",
               "jpeg": "bad JPEG: Premature end of JPEG file"}[kind]
    assert f"{tmp_path / 'photo.jpg'}: {message}" in out.stderr


def test_clusopt_run_flags(tmp_path):
    """--resolution HxW, --crop-pct and --interpolation reach the
    preprocessing; bad values are refused with the flag named."""
    cfg = paca.config("tiny")
    weights = paca.random_weights(cfg, seed=4, bias_std=0.02)
    export.export_state_dict(weights, tmp_path / "w.safetensors", dtype="f32")
    data = jpeg_bytes(photo(90, 70), quality=90)
    (tmp_path / "photo.jpg").write_bytes(data)
    np.save(tmp_path / "ref.npy", np.ascontiguousarray(
        preprocess(pil_rgb(data), 64, width=96, crop_pct=0.9,
                   interpolation="bilinear"), np.float32))
    flags = ["--resolution", "64x96", "--crop-pct", 0.9,
             "--interpolation", "bilinear"]
    out, got = run_paca(tmp_path, tmp_path / "photo.jpg", *flags)
    assert "images [1, 3, 64, 96]" in out.stdout
    _, want = run_paca(tmp_path, tmp_path / "ref.npy", "--resolution", "64x96")
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    # The default preprocessing differs (bicubic, 0.875).
    _, default = run_paca(tmp_path, tmp_path / "photo.jpg", "--resolution",
                          "64x96")
    assert np.abs(default - got).max() > 1e-4 * np.abs(got).max()
    for args, message in [
            (["--crop-pct", 0], "--crop-pct must be a number from 0.01 to 1, "
             "got 0"),
            (["--crop-pct", 1.5], "--crop-pct must be a number from 0.01 to "
             "1, got 1.5"),
            (["--resolution", "64x"], "--resolution must be HxW (height x "
             "width), integers from 1 to 8192, got 64x"),
            (["--resolution", "64x9000"], "--resolution must be HxW (height "
             "x width), integers from 1 to 8192, got 64x9000"),
            (["--resolution", "64x80"], "--resolution 64x80 is not a "
             "positive multiple of 32"),
            (["--interpolation", "nearest"], "Cannot find option named "
             "'nearest'")]:
        out = run_tool("--model", "paca_tiny", "--weights",
                       tmp_path / "w.safetensors", "--image",
                       tmp_path / "photo.jpg", *args)
        assert out.returncode == 1, (args, out.stdout)
        assert message in out.stderr, out.stderr


def run_driver(path, timeout=30):
    out = subprocess.run([driver(), str(path), "32", "1", "/dev/null"],
                         capture_output=True, text=True, timeout=timeout)
    assert "Sanitizer" not in out.stderr and "runtime error" not in out.stderr
    return out


def test_special_and_oversized_files_refused(tmp_path):
    """readPng read /dev/zero until memory ran out and blocked on a FIFO;
    both, and a PNG over the 1 GiB limit (sparse), are refused at once."""
    os.mkfifo(tmp_path / "fifo.png")
    with open(tmp_path / "big.png", "wb") as f:
        f.truncate((1 << 30) + 1)
    limit = "not a regular file (images are read from regular files of at " \
        "most 1 GiB)"
    for path, message in [
            ("/dev/zero", "/dev/zero: is a character device, " + limit),
            (tmp_path / "fifo.png", "fifo.png: is a FIFO, " + limit),
            (tmp_path / "big.png", "big.png: 1073741825 bytes, over the 1 GiB "
             "limit for images")]:
        out = run_driver(path)
        assert out.returncode == 1 and message in out.stderr, out.stderr
