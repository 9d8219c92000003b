namespace EtlStream.Compression;

/// <summary>
/// One decompressed stream: the whole content of a plain, gzip, bzip2 or zstd file, or one file entry of a zip
/// archive. <see cref="Stream"/> is forward-only and read-only; read errors caused by corrupt or truncated
/// compressed data surface as <see cref="InvalidDataException"/> naming <see cref="Name"/>.
/// Disposing the entry disposes only the decompression layers, never the raw stream it was opened from.
/// </summary>
public sealed class DecompressedEntry : IAsyncDisposable
{
    private int _disposed;

    internal DecompressedEntry(string name, CompressionKind kind, Stream stream)
    {
        Name = name;
        Kind = kind;
        Stream = stream;
    }

    /// <summary>The source name, or <c>&lt;source&gt;!&lt;entry path&gt;</c> for a zip entry.</summary>
    public string Name { get; }

    /// <summary>The compression detected from the raw stream's first bytes.</summary>
    public CompressionKind Kind { get; }

    /// <summary>
    /// The size the decompressed bytes declare before they are read (a plain file's length, a zip entry's stored
    /// size), or null where nothing declares it (gzip, bzip2, zstd, a pipe). A hint for buffering only: a zip entry
    /// that holds other than it declares fails its size check.
    /// </summary>
    public long? DeclaredLength { get; init; }

    /// <summary>The decompressed bytes.</summary>
    public Stream Stream { get; }

    public ValueTask DisposeAsync()
    {
        return Interlocked.Exchange(ref _disposed, 1) == 0 ? Stream.DisposeAsync() : ValueTask.CompletedTask;
    }
}
