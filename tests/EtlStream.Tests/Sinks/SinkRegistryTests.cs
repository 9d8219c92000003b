using System.Collections.Concurrent;
using Apache.Arrow;
using EtlStream.Cli.Commands;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Tests.Sinks;

/// <summary>
/// Sinks are found by kind and scheme in <see cref="SinkRegistry"/>: explain describes each kind's tenant from its own
/// provider, and a sink known only to the registry loads a <c>--to</c> target and a tenant job.
/// </summary>
[Collection(SinkRegistryCollection.Name)]
public sealed class SinkRegistryTests : IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 24);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Configs(string sink, string mode = "append")
    {
        Directory.CreateDirectory(_dir.File("in"));
        return DealersTenant.Write(_dir.File("configs"), $"{{ kind: local, path: {_dir.File("in")} }}", sink, mode);
    }

    [Theory]
    [InlineData("{ kind: duckdb, path: w.duckdb }", "duckdb", "merge", 1, "gathers 65,536 rows per write")]
    [InlineData("{ kind: parquet, path: lake }", "parquet", "replace", 1, "none: the sink takes batches one at a time")]
    [InlineData("{ kind: postgres, path: \"postgres://loader@db/datawiz_acme?concurrency=3\" }", "postgres", "merge", 3, "gathers 32,768 rows per write")]
    [InlineData("{ kind: mariadb, path: \"mysql://loader@db/datawiz_acme\" }", "mysql", "append", 1, "gathers 131,072 rows per write")]
    [InlineData("{ kind: clickhouse, path: \"clickhouse://loader@db/datawiz_acme\" }", "clickhouse", "append", 2, "gathers 65,536 rows per write")]
    [InlineData("{ kind: starrocks, path: \"starrocks://loader@fe:8030/datawiz_acme\" }", "starrocks", "replace", 2, "gathers 2,000,000 rows or 90.0 MiB per write (the sink's size)")]
    [InlineData("{ kind: doris, path: \"doris://loader@fe:8030/datawiz_acme?mysql_port=none\" }", "doris", "append", 2, "gathers 2,000,000 rows or 90.0 MiB per write (the sink's size)")]
    public async Task Explain_describes_each_sink_kinds_tenant_with_its_own_sink(string sink, string kind, string mode, int parallelism, string chunking)
    {
        var tenant = TenantConfigReader.Read(Configs(sink, mode), "acme");

        var lines = (await TenantCommands.ExplainAsync(tenant, tenant.Jobs["morning"], new LoadOptions())).Split('\n');

        Assert.Equal($"explain: tenant acme (acme), job morning, into {kind} database datawiz_acme", lines[0]);
        Assert.Equal($"  d / dealers ({mode}) <- {_dir.File("in")}/dealers_{{date}}.csv", lines[2]);
        Assert.StartsWith($"    batch      chunker         {chunking}", lines[7], StringComparison.Ordinal);
        Assert.Equal($"    load       ActionBlock     {kind} datawiz_acme.dealers (parallelism {parallelism}, capacity {parallelism})", lines[8]);
    }

    [Fact]
    public async Task A_sink_known_only_to_the_registry_loads_a_to_target_and_a_tenant_job()
    {
        var provider = new MemorySinkProvider();
        using var registration = SinkRegistry.Register(provider);
        var configs = Configs("{ kind: memtest, path: shelf }");
        var input = _dir.File($"in/dealers_{Day:yyyy-MM-dd}.csv");
        File.WriteAllText(input, "Dealer_Code,Dealer_Name,Territory,Region,Active,Onboarded_On\n D1 ,One,T1,North,Y,2026-01-02\nD2,Two,T2,South,N,2026-02-03\nD3,Three,T1,North,Y,2026-03-04\n");

        // `etlstream load <file> --to memtest:adhoc`, in-process: every column a string, named from the header.
        var (result, table, _) = await LoadCommand.LoadAsync(input, null, "memtest:adhoc", new LoadOptions(), null, CancellationToken.None);
        Assert.Equal((3, "dealers"), (result.RowsLoaded, table));
        Assert.Equal([" D1 ", "D2", "D3"], provider.Loaded["adhoc/dealers"]);

        // A tenant names it in tenant.yaml; init-db, the job and the ledger all go through its provider.
        var tenant = TenantConfigReader.Read(configs, "acme");
        Assert.Equal(["table dealers"], await TenantDatabase.InitializeAsync(tenant, CancellationToken.None));
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state.db"), CancellationToken.None);
        var plan = await JobPlan.BuildAsync(tenant, "morning", Day, CancellationToken.None, lateFiles: true);
        var first = await TenantJobRunner.RunAsync(plan, new LoadOptions { RejectsPath = _dir.File("rejects") }, NullLogger.Instance, CancellationToken.None,
            ledger: new LedgerRun(ledger, await ledger.StartRunAsync("acme", "morning", Day, CancellationToken.None)));

        Assert.Equal(3, Assert.Single(first).Result.RowsLoaded);
        Assert.Equal(["D1", "D2", "D3"], provider.Loaded["shelf/dealers"]); // the schema's trim
        Assert.Equal(["dealers_2026-11-24.csv"], (await ledger.CommittedAsync("acme", "memtest:datawiz_acme/dealers", CancellationToken.None)).Keys.Select(Path.GetFileName));

        // The ledger has the file: a rerun loads nothing.
        var again = await TenantJobRunner.RunAsync(plan, new LoadOptions { RejectsPath = _dir.File("rejects") }, NullLogger.Instance, CancellationToken.None,
            ledger: new LedgerRun(ledger, await ledger.StartRunAsync("acme", "morning", Day, CancellationToken.None)));
        Assert.Equal((0L, 1), (Assert.Single(again).Result.RowsLoaded, again[0].AlreadyLoaded));

        // A mode its capabilities do not list is refused before anything is built.
        var merge = Assert.Throws<NotSupportedException>(() => TenantJobRunner.CreateSink(tenant, tenant.Tables["dealers"], StepMode.Merge));
        Assert.Equal("acme: dealers: mode merge is not supported on memtest (append is)", merge.Message);
    }

    [Fact]
    public void Without_its_registration_the_kind_and_scheme_are_unknown_and_help_lists_every_registered_form()
    {
        var file = Path.Combine(_dir.File("configs"), "tenants", "acme", "tenant.yaml");
        var unknown = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs("{ kind: memtest, path: shelf }"), "acme"));
        Assert.Equal([$"{file}: sink.kind: 'memtest' is not supported yet (duckdb, starrocks, doris, postgres, mysql, mariadb, clickhouse, parquet)"], unknown.Errors);
        var target = Assert.Throws<ArgumentException>(() => SinkTarget.Create("memtest:adhoc", "t"));
        Assert.StartsWith("Invalid target 'memtest:adhoc': unknown scheme 'memtest'. Supported forms: duckdb:<file>[?table=<name>][&mode=append|replace], ", target.Message, StringComparison.Ordinal);

        using (SinkRegistry.Register(new MemorySinkProvider()))
        {
            Assert.Contains($", csv:<file>[?separator=tab], memtest:<name>; {SinkTarget.FormNotes}", SinkTarget.SupportedForms, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => SinkRegistry.Register(new MemorySinkProvider()));
        }
    }

    [Theory]
    [InlineData("parquet", "a Parquet lake has no row-level security (its readers read the files themselves): remove rls from a parquet tenant")]
    [InlineData("clickhouse", "ClickHouse 18.16 has no row-level security (no row policies, no currentUser(), and a view does not lift database access): remove rls from a clickhouse tenant")]
    public void Rls_on_a_sink_without_row_level_security_is_a_config_error(string kind, string message)
    {
        var root = Configs(kind == "parquet" ? "{ kind: parquet, path: lake }" : "{ kind: clickhouse, path: \"clickhouse://loader@db/datawiz_acme\" }");
        var file = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        File.AppendAllText(file, """

            rls:
              access_table: user_access
              user_variable: app_user
              views:
                - { table: dealers, view: dealers_secure, column: region }
            """);

        var error = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(root, "acme"));

        Assert.Equal([$"{file}: rls: {message}"], error.Errors);
    }

    /// <summary>A sink kept in memory, known to nothing but the registry: the first column of every committed row, by target.</summary>
    private sealed class MemorySinkProvider : SinkProvider
    {
        public ConcurrentDictionary<string, IReadOnlyList<string?>> Loaded { get; } = new(StringComparer.Ordinal);

        public override string Kind => "memtest";

        public override IReadOnlyList<string> Schemes => ["memtest"];

        public override string TargetForm => "memtest:<name>";

        public override SinkCapabilities Capabilities { get; } = new() { Modes = [StepMode.Append] };

        public override IBatchSink CreateFromTarget(string target, string defaultTable) => new MemorySink(this, $"{target["memtest:".Length..]}/{defaultTable}");

        public override IBatchSink CreateTenantSink(TenantSinkContext context) => new MemorySink(this, $"{context.Tenant.Sink.Path}/{context.Table.Name}");

        public override Task<IReadOnlyList<string>> InitDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<string>>([.. tenant.Tables.Keys.Select(t => $"table {t}")]);
    }

    /// <summary>Commits what it was given when the run completes, as a sink must; a failed run leaves nothing.</summary>
    private sealed class MemorySink(MemorySinkProvider provider, string name) : IBatchSink
    {
        private readonly List<string?> _rows = [];

        public int MaxConcurrency => 1;

        public int PreferredChunkRows => 1;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            foreach (var batch in chunk.Batches)
            {
                var column = (StringArray)batch.Column(0);
                for (var i = 0; i < column.Length; i++)
                {
                    _rows.Add(column.GetString(i));
                }
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            provider.Loaded[name] = [.. _rows];
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>Tests that register a sink or read the registry's lists of kinds and forms run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class SinkRegistryCollection
{
    public const string Name = "sink registry";
}
