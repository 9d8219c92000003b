using System.IO.Compression;
using System.Runtime.CompilerServices;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Readers;
using SharpCompress.Readers.Zip;

namespace EtlStream.Compression;

/// <summary>Opens compressed input by its magic bytes (never by its file extension).</summary>
public static class Decompression
{
    /// <summary>Size of the read-ahead buffer over the raw stream: large reads keep network and file I/O cheap.</summary>
    internal const int RawBufferSize = 1 << 20;

    private const int MagicLength = 4;

    /// <summary>
    /// Detects the compression from the first bytes: gzip <c>1F 8B</c>; zip <c>50 4B 03 04</c> (or <c>50 4B 05 06</c>,
    /// an empty archive); bzip2 <c>BZh</c> + block size digit; zstd <c>28 B5 2F FD</c>; anything else is <see cref="CompressionKind.None"/>.
    /// </summary>
    public static CompressionKind Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            return CompressionKind.Gzip;
        }

        if (head.Length >= 4 && head[0] == 0x50 && head[1] == 0x4B
            && ((head[2] == 0x03 && head[3] == 0x04) || (head[2] == 0x05 && head[3] == 0x06)))
        {
            return CompressionKind.Zip;
        }

        if (head.Length >= 4 && head[0] == (byte)'B' && head[1] == (byte)'Z' && head[2] == (byte)'h'
            && head[3] >= (byte)'1' && head[3] <= (byte)'9')
        {
            return CompressionKind.Bzip2;
        }

        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD)
        {
            return CompressionKind.Zstd;
        }

        return CompressionKind.None;
    }

    /// <summary>
    /// Yields the decompressed content of <paramref name="raw"/>: one entry for plain, gzip (all concatenated members),
    /// bzip2 and zstd input (an empty input is one empty entry of kind None), one entry per file of a zip archive in
    /// archive order, directories skipped. Every entry is streamed; read an entry before moving to the next one.
    /// The caller keeps ownership of <paramref name="raw"/>; it may be non-seekable.
    /// </summary>
    public static IAsyncEnumerable<DecompressedEntry> OpenAsync(Stream raw, string sourceName, CancellationToken cancellationToken) =>
        OpenAsync(raw, sourceName, DecompressionLimits.Default, cancellationToken);

    /// <summary>As <see cref="OpenAsync(Stream, string, CancellationToken)"/>, refusing entries over <paramref name="limits"/> (decompression bombs).</summary>
    public static IAsyncEnumerable<DecompressedEntry> OpenAsync(Stream raw, string sourceName, DecompressionLimits limits, CancellationToken cancellationToken) =>
        OpenAsync(raw, sourceName, limits, depth: 0, cancellationToken);

    /// <summary>Archives inside archives are opened too (a zip of .csv.gz files is common), this many levels down.</summary>
    private const int MaxNesting = 2;

    private static async IAsyncEnumerable<DecompressedEntry> OpenAsync(
        Stream raw, string sourceName, DecompressionLimits limits, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(sourceName);

        long start = raw.CanSeek ? raw.Position : -1;
        var peekable = new PeekableReadStream(raw, RawBufferSize);
        ReadOnlyMemory<byte> head = await peekable.PeekAsync(MagicLength, cancellationToken).ConfigureAwait(false);
        CompressionKind kind = Detect(head.Span);

        if (kind != CompressionKind.Zip)
        {
            yield return new DecompressedEntry(sourceName, kind, OpenSingle(kind, peekable, sourceName, limits));
            yield break;
        }

        if (raw.CanSeek)
        {
            raw.Position = start;
            ZipArchive archive = await OpenZipArchiveAsync(raw, sourceName, cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (ZipArchiveEntry zipEntry in archive.Entries)
                {
                    if (zipEntry.Name.Length == 0)
                    {
                        continue; // a directory
                    }

                    string name = $"{sourceName}!{zipEntry.FullName}";
                    Stream entryStream = await ZipStepAsync(async () => await zipEntry.OpenAsync(cancellationToken).ConfigureAwait(false), name).ConfigureAwait(false);
                    var compressed = zipEntry.CompressedLength;
                    await foreach (var e in ZipEntryAsync(name, entryStream, () => compressed, limits, depth, cancellationToken).ConfigureAwait(false))
                    {
                        yield return e;
                    }
                }
            }
            finally
            {
                await archive.DisposeAsync().ConfigureAwait(false);
            }

            yield break;
        }

        // Non-seekable: SharpCompress reads the local headers front to back without buffering the archive.
        IAsyncReader reader = await ZipReader.OpenAsyncReader(
            peekable, new ReaderOptions { LeaveStreamOpen = true }, cancellationToken).ConfigureAwait(false);
        try
        {
            while (await ZipStepAsync(() => reader.MoveToNextEntryAsync(cancellationToken), sourceName).ConfigureAwait(false))
            {
                if (reader.Entry.IsDirectory)
                {
                    continue;
                }

                string name = $"{sourceName}!{reader.Entry.Key}";
                Stream entryStream = await ZipStepAsync<Stream>(async () => await reader.OpenEntryStreamAsync(cancellationToken).ConfigureAwait(false), name).ConfigureAwait(false);
                await foreach (var e in ZipEntryAsync(name, entryStream, () => peekable.RawBytesRead, limits, depth, cancellationToken).ConfigureAwait(false))
                {
                    yield return e;
                }
            }
        }
        finally
        {
            await reader.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One zip entry, checked against the limits, opened one level down when it is an archive itself, disposed after.</summary>
    private static async IAsyncEnumerable<DecompressedEntry> ZipEntryAsync(
        string name, Stream entryStream, Func<long> compressed, DecompressionLimits limits, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entry = new DecompressedEntry(name, CompressionKind.Zip, new SourceReadStream(entryStream, name, CompressionKind.Zip, compressed, limits));
        try
        {
            await foreach (var e in NestedAsync(entry, limits, depth, cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            await entry.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A zip entry as it is, or, when it is itself compressed, what it holds (one level more, up to <see cref="MaxNesting"/>).</summary>
    private static async IAsyncEnumerable<DecompressedEntry> NestedAsync(DecompressedEntry entry, DecompressionLimits limits, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var peekable = new PeekableReadStream(entry.Stream, RawBufferSize);
        var kind = Detect((await peekable.PeekAsync(MagicLength, cancellationToken).ConfigureAwait(false)).Span);
        if (kind == CompressionKind.None)
        {
            yield return new DecompressedEntry(entry.Name, entry.Kind, peekable);
            yield break;
        }

        if (depth + 1 >= MaxNesting)
        {
            throw new InvalidDataException($"{entry.Name}: archives nested more than {MaxNesting} deep are not opened");
        }

        await foreach (var inner in OpenAsync(peekable, entry.Name, limits, depth + 1, cancellationToken).ConfigureAwait(false))
        {
            yield return inner;
        }
    }

    private static Stream OpenSingle(CompressionKind kind, PeekableReadStream input, string sourceName, DecompressionLimits limits)
    {
        try
        {
            return kind switch
            {
                CompressionKind.None => input,
                CompressionKind.Gzip => new SourceReadStream(
                    new GZipStream(input, CompressionMode.Decompress, leaveOpen: false), sourceName, kind, () => input.RawBytesRead, limits),
                CompressionKind.Bzip2 => new SourceReadStream(
                    BZip2Stream.Create(input, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: false),
                    sourceName, kind, () => input.RawBytesRead, limits),
                CompressionKind.Zstd => new SourceReadStream(
                    new ZstdSharp.DecompressionStream(input, bufferSize: 0, checkEndOfStream: true, leaveOpen: false), sourceName, kind, () => input.RawBytesRead, limits),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            };
        }
        catch (Exception ex) when (SourceReadStream.IsDataError(ex))
        {
            throw SourceReadStream.Corrupt(sourceName, kind, ex);
        }
    }

    private static async Task<ZipArchive> OpenZipArchiveAsync(Stream raw, string sourceName, CancellationToken cancellationToken)
    {
        ZipArchive? archive = null;
        try
        {
            archive = await ZipArchive.CreateAsync(raw, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, cancellationToken)
                .ConfigureAwait(false);

            // The central directory is read on first use: read it here, where a corrupt one can be named.
            _ = archive.Entries.Count;
            return archive;
        }
        catch (Exception ex) when (SourceReadStream.IsDataError(ex))
        {
            if (archive is not null)
            {
                await archive.DisposeAsync().ConfigureAwait(false);
            }

            throw SourceReadStream.Corrupt(sourceName, CompressionKind.Zip, ex);
        }
    }

    /// <summary>
    /// Runs one step of reading a zip (next entry, open an entry) so that corrupt or unsupported content (a
    /// compression method neither reader knows) fails naming the archive or entry, like corrupt data does.
    /// </summary>
    private static async ValueTask<T> ZipStepAsync<T>(Func<ValueTask<T>> step, string name)
    {
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (Exception ex) when (SourceReadStream.IsDataError(ex) || ex is NotSupportedException)
        {
            throw SourceReadStream.Corrupt(name, CompressionKind.Zip, ex);
        }
    }
}
