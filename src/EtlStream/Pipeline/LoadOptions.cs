namespace EtlStream.Pipeline;

/// <summary>How a load runs: parallelism and buffer bounds. Validated once when the pipeline is built.</summary>
public sealed record LoadOptions
{
    /// <summary>Files read (and decompressed) at the same time.</summary>
    public int ParallelFiles { get; init; } = 2;

    /// <summary>
    /// Batches transformed at the same time. Half the cores: decompression and parsing keep the other half busy,
    /// and each extra worker holds ~60 MB of batches (on 2 cores, 2 workers were no faster and peaked 40 MB higher).
    /// </summary>
    public int TransformParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Decompressed buffers read ahead of the parser, per file.</summary>
    public int ReadAheadBuffers { get; init; } = 4;

    public int ReadAheadBufferBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Bytes the mesh may hold at once in read-ahead buffers, batches, chunks and <c>unique</c> key sets
    /// (<see cref="MemoryPlan"/> splits it); the runtime and native writers add ~120 MB. 256 MiB keeps the standard
    /// job's batches at their 65,536 rows and its peak near 250 MB.
    /// </summary>
    public long MemoryBudget { get; init; } = DefaultMemoryBudget;

    public const long DefaultMemoryBudget = 256L * 1024 * 1024;

    public const long MinMemoryBudget = 16L * 1024 * 1024;

    /// <summary>The tenant computed <c>tenant</c> columns get: the engine stamps it, the file cannot.</summary>
    public string TenantId { get; init; } = "";

    /// <summary>Bounds on decompression, against decompression bombs.</summary>
    public Compression.DecompressionLimits DecompressionLimits { get; init; } = Compression.DecompressionLimits.Default;

    /// <summary>Where rejected rows go (Parquet); null counts them without writing them.</summary>
    public string? RejectsPath { get; init; }

    /// <summary>Optionally also a table for rejected rows: a sink target such as <c>duckdb:w.duckdb?table=etl_rejects</c>.</summary>
    public string? RejectsTable { get; init; }

    /// <summary>The table a load without a spec is named (its rejects' <c>target_table</c>); null: from the first file's name (<see cref="Tables.TableNames.FromFileName"/>).</summary>
    public string? TableName { get; init; }

    /// <summary>The date computed <c>load_date</c> columns get.</summary>
    public DateOnly LoadDate { get; init; } = DateOnly.FromDateTime(DateTime.Today);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ParallelFiles is < 1 or > 256)
        {
            errors.Add($"--parallel-files: must be 1..256, got {ParallelFiles}");
        }

        if (TransformParallelism is < 1 or > 256)
        {
            errors.Add($"transform parallelism: must be 1..256, got {TransformParallelism}");
        }

        if (ReadAheadBuffers is < 1 or > 64 || ReadAheadBufferBytes is < 4096 or > 64 * 1024 * 1024)
        {
            errors.Add("read-ahead: 1..64 buffers of 4 KiB..64 MiB");
        }

        if (MemoryBudget < MinMemoryBudget)
        {
            errors.Add($"--memory-budget: must be at least 16 MiB, got {Tables.ByteSize.Format(MemoryBudget)}");
        }

        return errors;
    }
}
