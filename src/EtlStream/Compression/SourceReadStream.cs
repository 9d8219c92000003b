using System.IO.Compression;
using System.Reflection;
using EtlStream.Sources;
using SharpCompress.Common;

namespace EtlStream.Compression;

/// <summary>
/// Wraps a decompressing stream so that corrupt or truncated input surfaces as an <see cref="InvalidDataException"/>
/// naming the source, and so that a gzip stream that ends before its last member is complete is an error
/// (System.IO.Compression's GZipStream silently returns end of stream on truncated input unless the process-wide
/// <c>System.IO.Compression.UseStrictValidation</c> switch is on).
/// </summary>
internal sealed class SourceReadStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly string _sourceName;
    private readonly CompressionKind _kind;
    private readonly Func<long>? _compressed;
    private readonly DecompressionLimits _limits;
    private long _out;

    /// <param name="compressed">Compressed bytes behind what came out so far (the raw bytes read, or a zip entry's compressed size).</param>
    public SourceReadStream(Stream inner, string sourceName, CompressionKind kind, Func<long>? compressed = null, DecompressionLimits? limits = null)
    {
        _inner = inner;
        _sourceName = sourceName;
        _kind = kind;
        _compressed = compressed;
        _limits = limits ?? DecompressionLimits.Default;
    }

    /// <summary>Stops a decompression bomb: too many bytes out, or too many per compressed byte in.</summary>
    private void Checked(int n)
    {
        _out += n;
        if (_out > _limits.MaxBytes)
        {
            throw new InvalidDataException($"{_sourceName}: decompresses to more than {_limits.MaxBytes:N0} bytes (limit max_bytes): refusing it as a possible decompression bomb");
        }

        if (_compressed is null || _out <= _limits.RatioCheckAfterBytes)
        {
            return;
        }

        var compressed = Math.Max(1, _compressed());
        if (_out / compressed > _limits.MaxRatio)
        {
            throw new InvalidDataException($"{_sourceName}: {_out:N0} bytes from {compressed:N0} compressed (ratio {_out / compressed:N0}:1, limit {_limits.MaxRatio:N0}:1): refusing it as a possible decompression bomb");
        }
    }

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
            throw Corrupt(_sourceName, _kind, ex);
        }

        Checked(n);

        if (n == 0 && !buffer.IsEmpty)
        {
            CheckComplete();
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
            throw Corrupt(_sourceName, _kind, ex);
        }

        Checked(n);

        if (n == 0 && !buffer.IsEmpty)
        {
            CheckComplete();
        }

        return n;
    }

    private void CheckComplete()
    {
        if (_inner is GZipStream gzip && GzipInflaterProbe.IsFinished(gzip) == false)
        {
            throw new InvalidDataException($"{_sourceName}: gzip data is truncated (the input ended inside a gzip member).");
        }
    }

    // SharpCompress's decoders report corrupt input in many shapes (its own exceptions, ZlibException, and argument
    // or index errors from malformed headers such as an LZMA entry's properties): inside a decompressor they all
    // mean bad data.
    internal static bool IsDataError(Exception ex) =>
        ex is InvalidDataException or EndOfStreamException or SharpCompressException or ZstdSharp.ZstdException
            or SharpCompress.Compressors.Deflate.ZlibException or IndexOutOfRangeException or ArgumentException;

    internal static InvalidDataException Corrupt(string sourceName, CompressionKind kind, Exception inner) =>
        new($"{sourceName}: {kind} data is corrupt or truncated: {inner.Message}", inner);

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
                throw Corrupt(_sourceName, _kind, ex);
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
            throw Corrupt(_sourceName, _kind, ex);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Reads whether GZipStream's inflater reached the end of a gzip member. This is private runtime state
    /// (GZipStream._deflateStream._inflater._finished, .NET 8–10); when the runtime changes shape the probe answers
    /// null and the truncation check is skipped rather than failing good data.
    /// </summary>
    private static class GzipInflaterProbe
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private static readonly FieldInfo? DeflateField = typeof(GZipStream).GetField("_deflateStream", Private);
        private static readonly FieldInfo? InflaterField = typeof(DeflateStream).GetField("_inflater", Private);
        private static readonly FieldInfo? FinishedField = InflaterField?.FieldType.GetField("_finished", Private);

        public static bool? IsFinished(GZipStream gzip)
        {
            if (DeflateField is null || InflaterField is null || FinishedField?.FieldType != typeof(bool))
            {
                return null;
            }

            object? inflater = DeflateField.GetValue(gzip) is DeflateStream deflate ? InflaterField.GetValue(deflate) : null;
            return inflater is null ? null : (bool?)FinishedField.GetValue(inflater);
        }
    }
}
