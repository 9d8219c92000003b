using System.Buffers;
using System.IO.Compression;
using SharpCompress.Compressors.BZip2;

namespace EtlStream.Generation;

/// <summary>
/// Generates the standard job's input (<c>perf</c>/<c>STANDARD_JOB.md</c>): a distributor's "fact invoice secondary"
/// CSV, deterministic for a given row count and seed on every runtime.
/// </summary>
public static class InvoiceGenerator
{
    /// <summary>The 22 column headers in file order.</summary>
    public static readonly IReadOnlyList<string> Header = Array.AsReadOnly(
    [
        "Invoice_No", "Invoice_Date", "Dealer_Code", "Dealer_Name", "Territory", "Region", "Product_Code",
        "Product_Name", "Category", "Qty", "Unit_Price", "Discount_Pct", "Net_Amount", "Tax_Amount", "Gross_Amount",
        "Currency", "Salesman_Code", "Active_Flag", "Created_At", "Remarks", "Batch_No", "Is_Return",
    ]);

    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Writes the CSV (header and <paramref name="rows"/> rows; UTF-8 without BOM, <c>\n</c> line endings, RFC 4180
    /// quoting) to <paramref name="output"/>, which is left open.
    /// </summary>
    public static async Task WriteCsvAsync(Stream output, long rows, int seed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);

        var writer = new InvoiceRowWriter(seed);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int length = InvoiceRowWriter.WriteHeader(buffer);
            long remaining = rows;
            while (true)
            {
                length += writer.WriteRows(buffer.AsSpan(length), ref remaining);
                await output.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                length = 0;
                if (remaining == 0)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the JSON Lines form (STANDARD_JOB.md): the rows <see cref="WriteCsvAsync"/> writes for the same seed, one
    /// nested object per line, to <paramref name="output"/>, which is left open.
    /// </summary>
    public static async Task WriteJsonLinesAsync(Stream output, long rows, int seed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);

        var writer = new InvoiceRowWriter(seed);
        var json = new InvoiceJsonLinesWriter();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long remaining = rows;
            while (remaining > 0)
            {
                int length = InvoiceRowWriter.WriteHeader(buffer);
                length += writer.WriteRows(buffer.AsSpan(length), ref remaining);
                await json.WriteAsync(buffer.AsMemory(0, length), output, cancellationToken).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the CSV to a file, creating its folder; the extension chooses the compression: <c>.gz</c> gzip at
    /// <see cref="CompressionLevel.Optimal"/> (zlib level 6), <c>.zst</c> zstd level 3, <c>.bz2</c> bzip2, <c>.zip</c>
    /// one entry named like the file without <c>.zip</c>; anything else is plain CSV.
    /// </summary>
    /// <param name="jsonLines">Write the JSON Lines form (<see cref="WriteJsonLinesAsync"/>) instead of CSV.</param>
    public static async Task WriteFileAsync(string path, long rows, int seed, CancellationToken cancellationToken, bool jsonLines = false)
    {
        Func<Stream, Task> write = jsonLines
            ? s => WriteJsonLinesAsync(s, rows, seed, cancellationToken)
            : s => WriteCsvAsync(s, rows, seed, cancellationToken);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);

        var file = new FileStream(fullPath, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize);
        await using (file.ConfigureAwait(false))
        {
            if (HasExtension(path, ".zip"))
            {
                var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
                await using (zip.ConfigureAwait(false))
                {
                    ZipArchiveEntry entry = zip.CreateEntry(Path.GetFileNameWithoutExtension(path), CompressionLevel.Optimal);
                    Stream entryStream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
                    await using (entryStream.ConfigureAwait(false))
                    {
                        await write(entryStream).ConfigureAwait(false);
                    }
                }

                return;
            }

            Stream target =
                HasExtension(path, ".gz") ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true)
                : HasExtension(path, ".zst") ? new ZstdSharp.CompressionStream(file, level: 3, bufferSize: 0, leaveOpen: true)
                : HasExtension(path, ".bz2") ? BZip2Stream.Create(
                    file, SharpCompress.Compressors.CompressionMode.Compress, decompressConcatenated: false, leaveOpen: true)
                : file;
            try
            {
                await write(target).ConfigureAwait(false);
            }
            finally
            {
                if (!ReferenceEquals(target, file))
                {
                    await target.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static bool HasExtension(string path, string extension) =>
        path.EndsWith(extension, StringComparison.OrdinalIgnoreCase);
}
