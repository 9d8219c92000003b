using System.Globalization;
using EtlStream.Formats.Csv;
using EtlStream.Tables;

namespace EtlStream.Pipeline;

/// <summary>
/// How <see cref="LoadOptions.MemoryBudget"/> is split over the mesh's bounded stages. Block capacities bound how
/// many batches are in flight; this plan bounds how big each may be, so that slots × bytes stays within the budget
/// whatever the file's shape (a wide table gets fewer rows per batch, a huge record a batch of its own).
/// Bytes are Arrow content: values, offsets, validity and the record's line number.
/// </summary>
public sealed record MemoryPlan
{
    /// <summary>Rows per batch never need more than this to parse at full speed; also the floor below which a batch is not shrunk.</summary>
    private const long MinBatchBytes = 64 * 1024;

    /// <summary>The parser's record buffer per file at its smallest (it grows only for longer records).</summary>
    private const long RecordBufferBytes = 1024 * 1024;

    /// <summary>The whole budget.</summary>
    public long Budget { get; init; }

    /// <summary>Decompressed read-ahead and record buffers of the files read at once.</summary>
    public long ReadAheadBytes { get; init; }

    /// <summary>Kept for <c>unique</c> rules' key sets (a quarter of the budget when the spec has any), shared among them.</summary>
    public long UniqueKeyBytes { get; init; }

    /// <summary>Batches the bounds allow at once: per file one being parsed and one waiting, per transform worker its input and output, and those the sink holds when it takes batches directly.</summary>
    public int BatchSlots { get; init; }

    /// <summary>The parser closes a batch before it would pass this (a single record larger than it is a batch of one row).</summary>
    public long BatchBytes { get; init; }

    /// <summary>Chunks held at once between the chunker and the sink (0 when the sink takes batches directly).</summary>
    public int ChunkSlots { get; init; }

    /// <summary>The chunker closes a chunk once it reaches this; with one more batch it stays within a chunk slot's share.</summary>
    public long ChunkBytes { get; init; }

    /// <summary>True when the sink sets its own chunk size in bytes (a Stream Load): its chunks are outside the budget.</summary>
    public bool SinkOwnsChunkBytes { get; init; }

    /// <summary>
    /// What batches and chunks in flight may hold together, counted by <see cref="Memory.MeshMemory"/> as they are
    /// allocated: the budget less read-ahead, unique keys and the batch each reader is filling. The slots above keep
    /// ordinary batches well inside it; it is what bounds batches of records longer than a batch.
    /// </summary>
    public long MeshBytes { get; init; }

    /// <summary>
    /// The plan for a run reading <paramref name="files"/> files (at most <see cref="LoadOptions.ParallelFiles"/> at
    /// once) into a sink of the given concurrency and chunking, for a spec with <paramref name="uniqueColumns"/> unique rules.
    /// </summary>
    public static MemoryPlan For(LoadOptions options, int files, int sinkConcurrency, int sinkChunkRows, long sinkChunkBytes, int uniqueColumns)
    {
        var readers = Math.Max(1, Math.Min(options.ParallelFiles, files));
        var readAhead = readers * (((long)options.ReadAheadBuffers * options.ReadAheadBufferBytes) + RecordBufferBytes);
        var unique = uniqueColumns > 0 ? options.MemoryBudget / 4 : 0;
        var rest = Math.Max(0, options.MemoryBudget - readAhead - unique);
        var ownsBytes = sinkChunkBytes != long.MaxValue;
        var chunked = sinkChunkRows > 1 || ownsBytes;
        var batchSlots = (2 * readers) + (2 * options.TransformParallelism) + (chunked ? 1 : sinkConcurrency);
        if (!chunked || ownsBytes)
        {
            var perSlot = Math.Max(MinBatchBytes, rest / batchSlots);
            return new MemoryPlan
            {
                MeshBytes = Math.Max(perSlot, rest - (readers * perSlot)),
                Budget = options.MemoryBudget,
                ReadAheadBytes = readAhead,
                UniqueKeyBytes = unique,
                BatchSlots = batchSlots,
                BatchBytes = perSlot,
                ChunkSlots = chunked ? readers + sinkConcurrency + 1 : 0,
                ChunkBytes = chunked ? sinkChunkBytes : 0,
                SinkOwnsChunkBytes = ownsBytes,
            };
        }

        // Half for batches, half for chunks: a chunk slot holds a chunk closed at ChunkBytes plus the batch that closed it.
        var batchBytes = Math.Max(MinBatchBytes, rest / 2 / batchSlots);
        var chunkSlots = readers + sinkConcurrency + 1;
        return new MemoryPlan
        {
            MeshBytes = Math.Max(batchBytes, rest - (readers * batchBytes)),
            Budget = options.MemoryBudget,
            ReadAheadBytes = readAhead,
            UniqueKeyBytes = unique,
            BatchSlots = batchSlots,
            BatchBytes = batchBytes,
            ChunkSlots = chunkSlots,
            ChunkBytes = Math.Max(MinBatchBytes, (rest / 2 / chunkSlots) - batchBytes),
        };
    }

    /// <summary>
    /// A batch_rows whose rows cannot fit in a batch even with one empty column (line numbers, offsets and validity
    /// alone) is a configuration error, named with the budget that refuses it. Below that, batch_rows is a cap the
    /// parser lowers for wide files and long records.
    /// </summary>
    public IReadOnlyList<string> Validate(CsvOptions csv)
    {
        var leastPerRow = CsvArrowParser.FixedRowBytes(1);
        var least = csv.BatchRows * leastPerRow;
        return least <= BatchBytes
            ? []
            : [string.Create(CultureInfo.InvariantCulture,
                $"csv.batch_rows: {csv.BatchRows:N0} rows take at least {ByteSize.Format(least)} per batch even for one column, over the {ByteSize.Format(BatchBytes)} a batch gets from memory_budget {ByteSize.Format(Budget)}; lower csv.batch_rows (at most {BatchBytes / leastPerRow:N0}) or raise --memory-budget")];
    }

    /// <summary>The bytes the plan allows: read-ahead, unique keys, batch slots and chunk slots (a sink's own chunk bytes excluded).</summary>
    public long BoundBytes =>
        ReadAheadBytes + UniqueKeyBytes + (BatchSlots * BatchBytes) + (SinkOwnsChunkBytes ? 0 : ChunkSlots * (ChunkBytes + BatchBytes));
}
