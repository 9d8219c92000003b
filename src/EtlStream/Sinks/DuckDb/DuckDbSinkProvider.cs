using EtlStream.Tenancy;

namespace EtlStream.Sinks.DuckDb;

/// <summary>The embedded default: <c>duckdb:&lt;file&gt;</c> targets and <c>kind: duckdb</c> tenants (a database file).</summary>
internal sealed class DuckDbSinkProvider : SinkProvider
{
    public override string Kind => "duckdb";

    public override IReadOnlyList<string> Schemes => ["duckdb"];

    public override string TargetForm => "duckdb:<file>[?table=<name>][&mode=append|replace]";

    public override IReadOnlyList<string> FileExtensions => [".duckdb", ".db"];

    public override TargetDescription DescribeTarget(string target, string defaultTable) => SinkTarget.DescribeDuckDb(target, defaultTable);

    public override SinkCapabilities Capabilities { get; } = new()
    {
        ReplacePartition = true,
        HealsFromTarget = true,
        ExactlyOnce = ExactlyOnce.LedgerInTransaction,
    };

    public override IBatchSink CreateFromTarget(string target, string defaultTable)
    {
        ArgumentNullException.ThrowIfNull(target);
        return new DuckDbSink(SinkTarget.ParseDuckDb(target, target[(target.IndexOf(':', StringComparison.Ordinal) + 1)..], defaultTable));
    }

    public override string ResolvePath(string path, string home) => path.Length > 0 ? System.IO.Path.GetFullPath(path, home) : path;

    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new DuckDbSink(Options(context.Tenant, context.Table, context.Mode) with { Ledger = context.Ledger, ReplaceSources = context.ReplaceSources });
    }

    public override async ValueTask<SinkDescription> DescribeAsync(TenantConfig tenant, TenantTable table, StepMode mode)
    {
        var description = await base.DescribeAsync(tenant, table, mode).ConfigureAwait(false);
        return description with { Settings = DuckDbSink.SettingsText(Options(tenant, table, mode)) };
    }

    /// <summary>How a table of the tenant is written in a mode: its own database, its key for merges.</summary>
    public static DuckDbSinkOptions Options(TenantConfig tenant, TenantTable table, StepMode mode)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return new()
        {
            DatabasePath = tenant.Sink.Path,
            Table = table.Name,
            Mode = mode switch { StepMode.Replace => DuckDbWriteMode.Replace, StepMode.Merge => DuckDbWriteMode.Merge, _ => DuckDbWriteMode.Append },
            Key = table.Key,
        };
    }

    public override async Task<IReadOnlyList<string>> InitDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var created = new List<string>(await CreateTablesAsync(tenant, _ => StepMode.Append, showKey: false, cancellationToken).ConfigureAwait(false));
        if (tenant.Rls is { } rls)
        {
            DuckDbSecureViews.CreateAccessTable(tenant.Sink.Path, rls.AccessTable);
            created.Add($"table {rls.AccessTable}");
            foreach (var view in rls.Views)
            {
                DuckDbSecureViews.CreateView(tenant.Sink.Path, rls.AccessTable, rls.UserVariable, view.Table, view.View, view.Column);
                created.Add($"view {view.View} ({view.Table} by {view.Column})");
            }
        }

        return created;
    }

    public override Task<IReadOnlyList<Sql.LedgerRow>> ReadLedgerAsync(TenantConfig tenant, TenantTable table, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        IReadOnlyList<Sql.LedgerRow> rows = [.. DuckDbSink.ReadLedger(tenant.Sink.Path, tenant.Id, target).Select(t => new Sql.LedgerRow(t.SourceName, t.SourceVersion, t.Rows, t.RunId))];
        return Task.FromResult(rows);
    }

    /// <summary>An append reloads safely when the table has a <c>source_file</c> column to delete the files' earlier rows by.</summary>
    public override string? ReloadProblem(TenantConfig tenant, string step, TenantTable table, StepMode mode)
    {
        ArgumentNullException.ThrowIfNull(table);
        return mode == StepMode.Append && !table.Spec.Columns.Any(c => c.Computed is Tables.SourceFileSpec && c.Name == "source_file")
            ? $"--reload: step {step} appends to {table.Name}, which has no source_file column (computed: source_file) to delete the files' earlier rows by, so they would be loaded a second time. Add the column, or reload through a replace step"
            : null;
    }
}
