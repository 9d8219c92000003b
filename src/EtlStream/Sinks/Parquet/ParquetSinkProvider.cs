using EtlStream.Tenancy;

namespace EtlStream.Sinks.Parquet;

/// <summary>
/// <c>parquet:&lt;file&gt;</c> targets (one zstd file) and <c>kind: parquet</c> tenants: a lake folder with a folder per
/// table and a file per source file (<see cref="ParquetLakeSink"/>).
/// </summary>
internal sealed class ParquetSinkProvider : SinkProvider
{
    public override string Kind => "parquet";

    public override IReadOnlyList<string> Schemes => ["parquet"];

    public override string TargetForm => "parquet:<file>";

    public override IReadOnlyList<string> FileExtensions => [".parquet"];

    public override SinkCapabilities Capabilities { get; } = new()
    {
        // Upserts by key would mean rewriting every file holding a key.
        Modes = [StepMode.Append, StepMode.Replace],
        ReplacePartition = true,
        NoRowLevelSecurity = "a Parquet lake has no row-level security (its readers read the files themselves): remove rls from a parquet tenant",
        ExactlyOnce = ExactlyOnce.IdempotentFiles,
    };

    public override IBatchSink CreateFromTarget(string target, string defaultTable)
    {
        ArgumentNullException.ThrowIfNull(target);
        var path = target[(target.IndexOf(':', StringComparison.Ordinal) + 1)..];
        return path.Length == 0
            ? throw SinkTarget.Invalid(target, "the Parquet path is empty")
            : new ParquetSink(new ParquetSinkOptions { Path = path });
    }

    public override string ResolvePath(string path, string home) => path.Length > 0 ? System.IO.Path.GetFullPath(path, home) : path;

    /// <summary>One file per source file, named from its identity: a rerun rewrites, never doubles.</summary>
    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ParquetLakeSink(new ParquetLakeSinkOptions
        {
            Folder = System.IO.Path.Combine(context.Tenant.Sink.Path, context.Table.Name),
            Replace = context.Mode == StepMode.Replace,
        });
    }

    /// <summary>A lake has no database: a folder per table.</summary>
    public override Task<IReadOnlyList<string>> InitDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var created = new List<string>();
        foreach (var table in tenant.Tables.Values)
        {
            Directory.CreateDirectory(System.IO.Path.Combine(tenant.Sink.Path, table.Name));
            created.Add($"folder {table.Name}");
        }

        return Task.FromResult<IReadOnlyList<string>>(created);
    }

    /// <summary>A reloaded file's output is rewritten under the same name.</summary>
    public override string? ReloadProblem(TenantConfig tenant, string step, TenantTable table, StepMode mode) => null;
}
