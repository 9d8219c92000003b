namespace EtlStream.Compression;

/// <summary>
/// The decompression limits of one source file, counted across all its entries. Bytes are counted per nesting
/// level (the zip's entries; the gzip files inside them), each against the source's compressed size, so a nested
/// archive neither escapes the limits nor counts its bytes twice at one level.
/// </summary>
internal sealed class DecompressionBudget
{
    private readonly long[] _outByDepth = new long[Decompression.MaxNesting + 1];
    private Func<long> _compressed;
    private long _entries;

    public DecompressionBudget(string sourceName, DecompressionLimits limits, Func<long> compressed)
    {
        SourceName = sourceName;
        Limits = limits;
        _compressed = compressed;
    }

    public string SourceName { get; }

    public DecompressionLimits Limits { get; }

    /// <summary>
    /// Compressed bytes behind what came out so far. For a seekable archive this is the archive's size rather than
    /// the bytes read: entries that overlap (one compressed kernel referenced by many headers) re-read the same bytes.
    /// </summary>
    public void UseCompressedSize(Func<long> compressed) => _compressed = compressed;

    /// <summary>Counts one more file entry of an archive.</summary>
    public void AddEntry()
    {
        if (++_entries > Limits.MaxEntries)
        {
            throw SourceReadStream.Named($"{SourceName}: holds more than {Limits.MaxEntries:N0} entries (limit max_entries): refusing it as a possible decompression bomb");
        }
    }

    /// <summary>Refuses a seekable archive whose directory already declares more than the limits allow, before anything is read.</summary>
    public void CheckDeclared(long declaredBytes, long entries, long archiveBytes)
    {
        if (entries > Limits.MaxEntries)
        {
            throw SourceReadStream.Named($"{SourceName}: holds {entries:N0} entries (limit max_entries {Limits.MaxEntries:N0}): refusing it as a possible decompression bomb");
        }

        if (declaredBytes > Limits.MaxBytes)
        {
            throw SourceReadStream.Named($"{SourceName}: its entries declare {declaredBytes:N0} bytes, more than {Limits.MaxBytes:N0} (limit max_bytes): refusing it as a possible decompression bomb");
        }

        var compressed = Math.Max(1, archiveBytes);
        if (declaredBytes > Limits.RatioCheckAfterBytes && declaredBytes / compressed > Limits.MaxRatio)
        {
            throw SourceReadStream.Named($"{SourceName}: its entries declare {declaredBytes:N0} bytes from {archiveBytes:N0} compressed (ratio {declaredBytes / compressed:N0}:1, limit {Limits.MaxRatio:N0}:1): refusing it as a possible decompression bomb");
        }
    }

    /// <summary>Counts <paramref name="n"/> bytes out of a stream at <paramref name="depth"/> (0: the source itself or its entries).</summary>
    public void Add(int depth, int n, string name, bool archive)
    {
        long total = _outByDepth[depth] += n;
        if (total > Limits.MaxBytes)
        {
            throw SourceReadStream.Named(archive
                ? $"{SourceName}: its entries decompress to more than {Limits.MaxBytes:N0} bytes (limit max_bytes, counted across entries; at {name}): refusing it as a possible decompression bomb"
                : $"{name}: decompresses to more than {Limits.MaxBytes:N0} bytes (limit max_bytes): refusing it as a possible decompression bomb");
        }

        if (total <= Limits.RatioCheckAfterBytes)
        {
            return;
        }

        var compressed = Math.Max(1, _compressed());
        if (total / compressed > Limits.MaxRatio)
        {
            throw SourceReadStream.Named(archive
                ? $"{SourceName}: its entries decompress to {total:N0} bytes from {compressed:N0} compressed (ratio {total / compressed:N0}:1, limit {Limits.MaxRatio:N0}:1, counted across entries; at {name}): refusing it as a possible decompression bomb"
                : $"{name}: {total:N0} bytes from {compressed:N0} compressed (ratio {total / compressed:N0}:1, limit {Limits.MaxRatio:N0}:1): refusing it as a possible decompression bomb");
        }
    }
}
