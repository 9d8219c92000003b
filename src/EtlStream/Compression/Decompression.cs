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

    /// <summary>
    /// As <see cref="OpenAsync(Stream, string, CancellationToken)"/>, refusing input over <paramref name="limits"/>
    /// (decompression bombs), counted across all entries of the source, and data that fails its format's integrity
    /// checks (gzip member CRC32 and length, what follows a member; zip entry CRC32 and sizes; bzip2 block and stream
    /// CRCs; zstd frame structure and content checksum when present) as corrupt, naming the source or entry.
    /// </summary>
    public static async IAsyncEnumerable<DecompressedEntry> OpenAsync(
        Stream raw, string sourceName, DecompressionLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(limits);

        var budget = new DecompressionBudget(sourceName, limits, static () => 0);
        await foreach (var entry in OpenAsync(raw, sourceName, budget, depth: 0, cancellationToken).ConfigureAwait(false))
        {
            yield return entry;
        }
    }

    /// <summary>Archives inside archives are opened too (a zip of .csv.gz files is common), this many levels down.</summary>
    internal const int MaxNesting = 2;

    /// <summary>
    /// The buffer over a zip entry, which only has to show its first bytes: the entry's decompressor buffers already,
    /// and a large one per entry made an archive of 100,000 small entries allocate 100 GB.
    /// </summary>
    private const int EntryPeekBufferSize = 4096;

    private static async IAsyncEnumerable<DecompressedEntry> OpenAsync(
        Stream raw, string sourceName, DecompressionBudget budget, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long start = raw.CanSeek ? raw.Position : -1;
        var peekable = raw as PeekableReadStream ?? new PeekableReadStream(raw, RawBufferSize);
        if (depth == 0)
        {
            budget.UseCompressedSize(() => peekable.BytesConsumed);
        }

        ReadOnlyMemory<byte> head = await peekable.PeekAsync(MagicLength, cancellationToken).ConfigureAwait(false);
        CompressionKind kind = Detect(head.Span);

        if (kind != CompressionKind.Zip)
        {
            yield return new DecompressedEntry(sourceName, kind, OpenSingle(kind, peekable, sourceName, budget, depth))
            {
                DeclaredLength = kind == CompressionKind.None && raw.CanSeek ? raw.Length - start : null,
            };
            yield break;
        }

        if (raw.CanSeek)
        {
            raw.Position = start;
            ZipArchive archive = await OpenZipArchiveAsync(raw, sourceName, cancellationToken).ConfigureAwait(false);
            try
            {
                CheckDeclared(archive, budget, depth == 0 ? raw.Length - start : long.MaxValue);
                if (depth == 0)
                {
                    long archiveBytes = raw.Length - start;
                    budget.UseCompressedSize(() => archiveBytes);
                }

                foreach (ZipArchiveEntry zipEntry in archive.Entries)
                {
                    if (zipEntry.Name.Length == 0)
                    {
                        continue; // a directory
                    }

                    string name = $"{sourceName}!{zipEntry.FullName}";
                    budget.AddEntry();
                    ThrowIfEncrypted(zipEntry.IsEncrypted, name);
                    Stream entryStream = await ZipStepAsync(async () => await zipEntry.OpenAsync(cancellationToken).ConfigureAwait(false), name, "zip entry").ConfigureAwait(false);
                    var checkedStream = new ZipEntryCheckStream(
                        new SourceReadStream(entryStream, name, CompressionKind.Zip, budget, depth), name, declared: true, zipEntry.Crc32, zipEntry.Length);
                    await foreach (var e in ZipEntryAsync(name, checkedStream, zipEntry.Length, budget, depth, cancellationToken).ConfigureAwait(false))
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

        // Non-seekable: SharpCompress reads the local headers front to back without buffering the archive. An entry
        // read this way is only ever read once, so entries cannot overlap; the budget counts what comes out.
        IAsyncReader reader = await ZipReader.OpenAsyncReader(
            peekable, new ReaderOptions { LeaveStreamOpen = true }, cancellationToken).ConfigureAwait(false);
        try
        {
            ZipEntryCheckStream? streamed = null;
            SharpCompress.Common.IEntry? streamedEntry = null;
            while (await ZipStepAsync(() => reader.MoveToNextEntryAsync(cancellationToken), sourceName, "zip archive").ConfigureAwait(false))
            {
                VerifyStreamed(streamed, streamedEntry);
                streamed = null;
                var zipEntry = reader.Entry;
                if (zipEntry.IsDirectory)
                {
                    continue;
                }

                string name = $"{sourceName}!{zipEntry.Key}";
                budget.AddEntry();
                ThrowIfEncrypted(zipEntry.IsEncrypted, name);
                Stream entryStream = await ZipStepAsync<Stream>(async () => await reader.OpenEntryStreamAsync(cancellationToken).ConfigureAwait(false), name, "zip entry").ConfigureAwait(false);

                // An entry streamed with a data descriptor (general purpose bit 3) has its CRC and sizes after its
                // data: the reader fills them in when it moves to the next entry, and it is verified then.
                bool declared = !HasDataDescriptor(zipEntry);
                var checkedStream = new ZipEntryCheckStream(
                    new SourceReadStream(entryStream, name, CompressionKind.Zip, budget, depth), name, declared, (uint)zipEntry.Crc, zipEntry.Size);
                if (!declared)
                {
                    (streamed, streamedEntry) = (checkedStream, zipEntry);
                }

                await foreach (var e in ZipEntryAsync(name, checkedStream, declared ? zipEntry.Size : null, budget, depth, cancellationToken).ConfigureAwait(false))
                {
                    yield return e;
                }
            }

            VerifyStreamed(streamed, streamedEntry);
        }
        finally
        {
            await reader.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void VerifyStreamed(ZipEntryCheckStream? streamed, SharpCompress.Common.IEntry? entry)
    {
        // An entry not read to its end (only its header was wanted) was skipped, not loaded: nothing to verify.
        if (streamed is { Ended: true } && entry is not null)
        {
            streamed.Verify((uint)entry.Crc, entry.Size);
        }
    }

    /// <summary>Bit 3 of the local header's flags: CRC-32 and sizes follow the data (SharpCompress reads them as 0 before).</summary>
    private static bool HasDataDescriptor(SharpCompress.Common.IEntry entry) =>
        entry is SharpCompress.Common.Zip.ZipEntry { Crc: 0, Size: 0, CompressedSize: 0 };

    private static void ThrowIfEncrypted(bool encrypted, string name)
    {
        if (encrypted)
        {
            throw SourceReadStream.Named($"{name}: the entry is encrypted; encrypted archives are not supported");
        }
    }

    /// <summary>
    /// Refuses a seekable archive whose directory declares too many entries or bytes before any is read: entries
    /// whose data overlap (a few KB of deflate referenced by thousands of headers) declare terabytes from a small file.
    /// An entry cannot bring out more than it declares: ZipArchive stops at the declared size and the size check fails.
    /// </summary>
    private static void CheckDeclared(ZipArchive archive, DecompressionBudget budget, long archiveBytes)
    {
        long declared = 0;
        long files = 0;
        foreach (ZipArchiveEntry entry in archive.Entries)
        {
            if (entry.Name.Length > 0)
            {
                files++;
                declared = declared > long.MaxValue - entry.Length ? long.MaxValue : declared + entry.Length;
            }
        }

        budget.CheckDeclared(declared, files, archiveBytes);
    }

    /// <summary>One zip entry, opened one level down when it is an archive itself, disposed after.</summary>
    private static async IAsyncEnumerable<DecompressedEntry> ZipEntryAsync(
        string name, Stream checkedStream, long? declaredLength, DecompressionBudget budget, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entry = new DecompressedEntry(name, CompressionKind.Zip, checkedStream) { DeclaredLength = declaredLength };
        try
        {
            await foreach (var e in NestedAsync(entry, budget, depth, cancellationToken).ConfigureAwait(false))
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
    private static async IAsyncEnumerable<DecompressedEntry> NestedAsync(DecompressedEntry entry, DecompressionBudget budget, int depth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var peekable = new PeekableReadStream(entry.Stream, EntryPeekBufferSize);
        var kind = Detect((await peekable.PeekAsync(MagicLength, cancellationToken).ConfigureAwait(false)).Span);
        if (kind == CompressionKind.None)
        {
            yield return new DecompressedEntry(entry.Name, entry.Kind, peekable) { DeclaredLength = entry.DeclaredLength };
            yield break;
        }

        if (depth + 1 >= MaxNesting)
        {
            throw SourceReadStream.Named($"{entry.Name}: archives nested more than {MaxNesting} deep are not opened");
        }

        await foreach (var inner in OpenAsync(peekable, entry.Name, budget, depth + 1, cancellationToken).ConfigureAwait(false))
        {
            yield return inner;
        }
    }

    /// <summary>
    /// How far <see cref="FindCorruptionAsync"/> reads on: past a bzip2 block (at most about 45 MB of output) and
    /// to the end of most entries, without decompressing a large honest file whole before its CSV error is reported.
    /// </summary>
    public const long IntegrityReadOnBytes = 64L << 20;

    /// <summary>
    /// After an entry's rows failed to parse: reads on in its decompressed <paramref name="stream"/> (up to
    /// <see cref="IntegrityReadOnBytes"/>) and returns the error of data that fails its integrity check, or null.
    /// Corrupt compressed data comes out before the check that covers it fails, and its altered rows then fail as
    /// CSV; the corruption is the cause a user has to see.
    /// </summary>
    public static async ValueTask<InvalidDataException?> FindCorruptionAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long read = 0;
            int n;
            while (read < IntegrityReadOnBytes && (n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                read += n;
            }

            return null;
        }
        catch (InvalidDataException e)
        {
            return e;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Stream OpenSingle(CompressionKind kind, PeekableReadStream input, string sourceName, DecompressionBudget budget, int depth)
    {
        try
        {
            return kind switch
            {
                CompressionKind.None => input,
                CompressionKind.Gzip => new SourceReadStream(
                    new GZipStream(input, CompressionMode.Decompress, leaveOpen: false), sourceName, kind, budget, depth, gzipInput: input),
                CompressionKind.Bzip2 => new SourceReadStream(
                    BZip2Stream.Create(input, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: false),
                    sourceName, kind, budget, depth),
                CompressionKind.Zstd => new SourceReadStream(
                    new ZstdSharp.DecompressionStream(input, bufferSize: 0, checkEndOfStream: true, leaveOpen: false), sourceName, kind, budget, depth),
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

            throw SourceReadStream.Corrupt(sourceName, CompressionKind.Zip, ex, "zip archive");
        }
    }

    /// <summary>
    /// Runs one step of reading a zip (next entry, open an entry) so that corrupt or unsupported content (a
    /// compression method neither reader knows) fails naming the archive or entry, like corrupt data does.
    /// </summary>
    private static async ValueTask<T> ZipStepAsync<T>(Func<ValueTask<T>> step, string name, string what)
    {
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex.Message.Contains("encrypt", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("password", StringComparison.OrdinalIgnoreCase))
        {
            // SharpCompress's forward reader asks for a password (or refuses a streamed encrypted entry) as it moves
            // to the entry, before the entry can be named.
            throw SourceReadStream.Named($"{name}: an entry is encrypted; encrypted archives are not supported", ex);
        }
        catch (Exception ex) when (SourceReadStream.IsDataError(ex) || ex is NotSupportedException)
        {
            throw SourceReadStream.Corrupt(name, CompressionKind.Zip, ex, what);
        }
    }
}
