namespace EtlStream.Formats;

/// <summary>
/// Reads one input entry (a file, or a file inside an archive, already decompressed) as batches of records. A
/// reader is made by its <see cref="InputFormat"/> for one entry and used by one task: header first, then
/// batches until null.
/// </summary>
public interface IRecordReader : IDisposable
{
    /// <summary>
    /// The entry's field names, in field order: the CSV header (or <c>column1…</c> without one), the JSON paths,
    /// the Parquet schema. Empty for an empty entry, which loads nothing.
    /// </summary>
    ValueTask<IReadOnlyList<string>> ReadHeaderAsync(CancellationToken cancellationToken);

    /// <summary>The next batch of records, or null at the end of the entry. The caller disposes each batch.</summary>
    ValueTask<TextBatch?> ReadBatchAsync(CancellationToken cancellationToken);

    /// <summary>Uncompressed bytes of the entry consumed so far, for progress and the bytes-read totals.</summary>
    long BytesConsumed { get; }

    /// <summary>
    /// Warnings about the entry as a whole, known once the header is read (a CSV whose rows are all one column
    /// while its header holds a likely delimiter): the pipeline logs each once, prefixed with the entry's name.
    /// </summary>
    IReadOnlyList<string> HeaderWarnings { get; }

    /// <summary>Warnings found while reading records (a JSON key first seen after the sample): logged once, when the entry ends.</summary>
    IReadOnlyList<string> EntryWarnings => [];

    /// <summary>
    /// The type each header field carries, when the format types its columns (Parquet, Arrow; null for a field
    /// with no column type of its own, read as text), known once the header is read. Null for a text format: a
    /// spec inferred from the header (no <c>columns:</c>) then makes every column a string.
    /// </summary>
    IReadOnlyList<Tables.ColumnType?>? HeaderTypes => null;
}
