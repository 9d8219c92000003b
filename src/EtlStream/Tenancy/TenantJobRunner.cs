using EtlStream.Pipeline;
using EtlStream.Sinks.DuckDb;
using Microsoft.Extensions.Logging;

namespace EtlStream.Tenancy;

/// <summary>What one table load of a job did.</summary>
public sealed record TableLoadResult(string Step, string Table, string Mode, IReadOnlyList<string> Files, LoadResult Result);

/// <summary>
/// Runs a <see cref="JobPlan"/>: each table load through the streaming pipeline into the tenant's own database,
/// in step order, stopping at the first failure. Every table load is its own transaction, so a failed load
/// (a full refresh included) leaves that table as it was.
/// </summary>
public static partial class TenantJobRunner
{
    /// <param name="options">Load options; <see cref="LoadOptions.RejectsPath"/> is the folder rejects go under (default <c>rejects</c>).</param>
    /// <param name="observe">Wraps each table load, e.g. in a progress display: gets the load, its pipeline and the run to await.</param>
    public static async Task<IReadOnlyList<TableLoadResult>> RunAsync(
        JobPlan plan,
        LoadOptions options,
        ILogger logger,
        CancellationToken cancellationToken,
        Func<TableLoad, LoadPipeline, Func<Task<LoadResult>>, Task<LoadResult>>? observe = null)
    {
        var results = new List<TableLoadResult>();
        var runOptions = options with { TenantId = plan.Tenant.Id, LoadDate = plan.Date };
        foreach (var load in plan.Loads)
        {
            var sink = CreateSink(plan.Tenant, load.Table, load.Mode, logger);
            await using (sink.ConfigureAwait(false))
            {
                // Each table load's rejects in their own file: rejects/<tenant>/<date>-<job>-<table>.parquet.
                var rejects = Path.Combine(options.RejectsPath ?? "rejects", plan.Tenant.Id, $"{plan.Date:yyyy-MM-dd}-{plan.Job.Name}-{load.Table.Name}.parquet");
                var pipeline = new LoadPipeline(runOptions with { RejectsPath = rejects }, logger);
                Task<LoadResult> Run() => pipeline.RunAsync(load.Files, load.Table.Spec, sink, cancellationToken);
                var result = await (observe is null ? Run() : observe(load, pipeline, Run)).ConfigureAwait(false);
                var mode = load.Mode.ToString().ToLowerInvariant();
                results.Add(new TableLoadResult(load.Step, load.Table.Name, mode, [.. load.Files.Select(f => f.Name)], result));
                LogTableLoaded(logger, plan.Tenant.Id, plan.Job.Name, load.Table.Name, mode, result.RowsLoaded, result.Files);
            }
        }

        return results;
    }

    /// <summary>The tenant's sink for one table load.</summary>
    public static Sinks.IBatchSink CreateSink(TenantConfig tenant, TenantTable table, StepMode mode, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        if (!tenant.Sink.IsStreamLoad)
        {
            return new DuckDbSink(SinkOptions(tenant, table, mode));
        }

        // Append loads rows; merge is an upsert by the key on a PRIMARY KEY table (init-db makes keyed tables so).
        // A full refresh needs a staging table and ALTER TABLE ... SWAP WITH, which this sink does not do yet.
        if (mode == StepMode.Replace)
        {
            throw new NotSupportedException($"{tenant.Id}: {table.Name}: mode replace is not supported on {tenant.Sink.Kind} yet (append and merge are)");
        }

        return new Sinks.StarRocks.StarRocksSink(StreamLoadOptions(tenant, table), logger);
    }

    /// <summary>The Stream Load options of a tenant's table: the sink target, the tenant's id in every label.</summary>
    public static Sinks.StarRocks.StarRocksSinkOptions StreamLoadOptions(TenantConfig tenant, TenantTable table)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return Sinks.StarRocks.StarRocksTarget.Parse(tenant.Sink.Path, table.Name, tenant.Sink.Password ?? string.Empty) with { Tenant = tenant.Id };
    }

    /// <summary>How a table of the tenant is written in a mode: its own database, its key for merges.</summary>
    public static DuckDbSinkOptions SinkOptions(TenantConfig tenant, TenantTable table, StepMode mode) => new()
    {
        DatabasePath = tenant.Sink.Path,
        Table = table.Name,
        Mode = mode switch { StepMode.Replace => DuckDbWriteMode.Replace, StepMode.Merge => DuckDbWriteMode.Merge, _ => DuckDbWriteMode.Append },
        Key = table.Key,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "{Tenant}/{Job}: {Table} ({Mode}): {Rows} rows from {Files} files")]
    private static partial void LogTableLoaded(ILogger logger, string tenant, string job, string table, string mode, long rows, int files);
}
