using System.IO.Compression;
using System.Reflection;
using EtlStream.Sources;
using SharpCompress.Common;

namespace EtlStream.Compression;

/// <summary>
/// Wraps a decompressing stream so that corrupt or truncated input surfaces as an <see cref="InvalidDataException"/>
/// naming the source (<c>day.csv.gz: corrupt gzip data: CRC32 mismatch</c>), so that its bytes count against the
/// source's bomb limits, and so that a gzip stream is checked where System.IO.Compression's GZipStream is lenient:
/// it silently returns end of stream on input that ends inside a member, and on anything after a member that is not
/// another member (trailing garbage, or plain text whose rows would be dropped).
/// </summary>
internal sealed class SourceReadStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly string _sourceName;
    private readonly CompressionKind _kind;
    private readonly DecompressionBudget? _budget;
    private readonly int _depth;
    private readonly PeekableReadStream? _gzipInput;

    /// <param name="budget">The source's bomb limits, counted across its entries; null counts nothing.</param>
    /// <param name="depth">The nesting level whose bytes this stream's output is (0: the source or its entries).</param>
    /// <param name="gzipInput">The compressed input of a gzip stream, checked to be fully consumed at its end.</param>
    public SourceReadStream(Stream inner, string sourceName, CompressionKind kind, DecompressionBudget? budget, int depth, PeekableReadStream? gzipInput = null)
    {
        _inner = inner;
        _sourceName = sourceName;
        _kind = kind;
        _budget = budget;
        _depth = depth;
        _gzipInput = gzipInput;
    }

    private void Checked(int n) => _budget?.Add(_depth, n, _sourceName, archive: _kind == CompressionKind.Zip || _depth > 0);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _inner.Read(buffer);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            throw Corrupt(ex);
        }

        Checked(n);

        if (n == 0 && !buffer.IsEmpty)
        {
            CheckComplete(_gzipInput is null || _gzipInput.AtEnd());
        }

        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            throw Corrupt(ex);
        }

        Checked(n);

        if (n == 0 && !buffer.IsEmpty)
        {
            CheckComplete(_gzipInput is null || await _gzipInput.AtEndAsync(cancellationToken).ConfigureAwait(false));
        }

        return n;
    }

    /// <summary>
    /// At the end of a gzip stream: the last member must be complete, and nothing but further members may follow it.
    /// GZipStream stops at the first member followed by bytes that do not start another member and leaves them
    /// unread, in its inflater (<c>NeedsInput</c> false) or still in the input. Trailing zero padding is refused too:
    /// bzip2 and zstd refuse it as well, and no writer of the files we load pads them.
    /// </summary>
    private void CheckComplete(bool inputAtEnd)
    {
        if (_inner is not GZipStream gzip)
        {
            return;
        }

        if (GzipInflaterProbe.IsFinished(gzip) == false)
        {
            throw Named($"{_sourceName}: corrupt gzip data: truncated (the input ended inside a gzip member)");
        }

        if (!inputAtEnd || GzipInflaterProbe.NeedsInput(gzip) == false)
        {
            throw Named($"{_sourceName}: corrupt gzip data: trailing data after a gzip member (only another gzip member may follow one)");
        }
    }

    // SharpCompress's decoders report corrupt input in many shapes (its own exceptions, ZlibException, and argument
    // or index errors from malformed headers such as an LZMA entry's properties): inside a decompressor they all
    // mean bad data.
    // An error that already names its source (raised by an inner layer of a nested archive) passes through as it is.
    internal static bool IsDataError(Exception ex) =>
        !IsNamed(ex) && ex is InvalidDataException or EndOfStreamException or SharpCompressException or ZstdSharp.ZstdException
            or SharpCompress.Compressors.Deflate.ZlibException or IndexOutOfRangeException or ArgumentException;

    private const string NamedKey = "EtlStream.Compression.Named";

    /// <summary>An error whose message names its source already, so that no outer layer wraps it again.</summary>
    internal static InvalidDataException Named(string message, Exception? inner = null)
    {
        var e = new InvalidDataException(message, inner);
        e.Data[NamedKey] = true;
        return e;
    }

    internal static bool IsNamed(Exception ex) => ex.Data.Contains(NamedKey);

    /// <summary><c>name: corrupt gzip data: reason</c>; <paramref name="what"/> defaults to "&lt;kind&gt; data".</summary>
    internal static InvalidDataException Corrupt(string sourceName, CompressionKind kind, Exception inner, string? what = null) =>
        Named($"{sourceName}: corrupt {what ?? KindName(kind) + " data"}: {inner.Message}", inner);

    internal static string KindName(CompressionKind kind) => kind switch
    {
        CompressionKind.Gzip => "gzip",
        CompressionKind.Zip => "zip",
        CompressionKind.Bzip2 => "bzip2",
        CompressionKind.Zstd => "zstd",
        _ => "plain",
    };

    private InvalidDataException Corrupt(Exception inner)
    {
        // GZipStream reports every zlib data error, a member's CRC32 or length check included, as "unsupported
        // compression method"; zlib's own message says which check failed.
        if (_inner is GZipStream gzip && GzipInflaterProbe.ZlibMessage(gzip) is { Length: > 0 } zlib)
        {
            var reason = zlib switch
            {
                "incorrect data check" => "CRC32 mismatch",
                "incorrect length check" => "length (ISIZE) mismatch",
                "incorrect header check" or "unknown compression method" => "a gzip member header is invalid",
                _ => zlib,
            };
            return Named($"{_sourceName}: corrupt gzip data: {reason}", inner);
        }

        return Corrupt(_sourceName, _kind, inner, _kind == CompressionKind.Zip ? "zip entry" : null);
    }

    // Disposing a zip entry that was not read to its end skips (inflates) the rest of it, so corrupt data can
    // surface here too; it is named like any other.
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                _inner.Dispose();
            }
            catch (Exception ex) when (IsDataError(ex))
            {
                throw Corrupt(ex);
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            throw Corrupt(ex);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Reads GZipStream's inflater state: whether it reached the end of a gzip member, whether it holds unread input,
    /// and zlib's last error message. This is private runtime state (GZipStream._deflateStream._inflater, .NET 8–10);
    /// when the runtime changes shape the probe answers null and that check is skipped rather than failing good data.
    /// </summary>
    private static class GzipInflaterProbe
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        private static readonly FieldInfo? DeflateField = typeof(GZipStream).GetField("_deflateStream", Private);
        private static readonly FieldInfo? InflaterField = typeof(DeflateStream).GetField("_inflater", Private);
        private static readonly FieldInfo? FinishedField = InflaterField?.FieldType.GetField("_finished", Private);
        private static readonly MethodInfo? NeedsInputMethod = InflaterField?.FieldType.GetMethod("NeedsInput", Any, Type.EmptyTypes);
        private static readonly FieldInfo? ZlibField = InflaterField?.FieldType.GetField("_zlibStream", Private);
        private static readonly MethodInfo? ZlibMessageMethod = ZlibField?.FieldType.GetMethod("GetErrorMessage", Any, Type.EmptyTypes);

        private static object? Inflater(GZipStream gzip) =>
            DeflateField is not null && InflaterField is not null && DeflateField.GetValue(gzip) is DeflateStream deflate
                ? InflaterField.GetValue(deflate)
                : null;

        public static bool? IsFinished(GZipStream gzip) =>
            FinishedField?.FieldType == typeof(bool) && Inflater(gzip) is { } inflater ? (bool?)FinishedField.GetValue(inflater) : null;

        public static bool? NeedsInput(GZipStream gzip) =>
            NeedsInputMethod?.ReturnType == typeof(bool) && Inflater(gzip) is { } inflater ? (bool?)NeedsInputMethod.Invoke(inflater, null) : null;

        public static string? ZlibMessage(GZipStream gzip)
        {
            try
            {
                return ZlibField is not null && ZlibMessageMethod?.ReturnType == typeof(string) && Inflater(gzip) is { } inflater
                    && ZlibField.GetValue(inflater) is { } zlib
                    ? ZlibMessageMethod.Invoke(zlib, null) as string
                    : null;
            }
            catch (TargetInvocationException)
            {
                return null; // the zlib stream was already released: fall back to GZipStream's own message
            }
        }
    }
}
