using System.Collections.Concurrent;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sinks.DuckDb;
using EtlStream.State;
using EtlStream.Tenancy;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging;

namespace EtlStream.Tests.State;

/// <summary>Daily runs, reruns, late and re-uploaded files, backfill shards and SIGKILL: every row lands exactly once.</summary>
public sealed class ExactlyOnceTests : IDisposable
{
    private static readonly DateOnly Day1 = new(2026, 11, 20);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Incoming => _dir.File("incoming");

    private string Database => _dir.File("warehouse/acme.duckdb");

    private string Lake => _dir.File("lake");

    private string Configs(string onChanged = "skip", string? sink = null)
    {
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", "fact_invoice_secondary.yaml"), Path.Combine(root, "schemas", "fact_invoice_secondary.yaml"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), $"""
            tenant: acme
            database: datawiz_acme
            source: {"{"} kind: local, path: {Incoming} {"}"}
            sink: {sink ?? $"{{ kind: duckdb, path: {Database} }}"}
            tables:
              fact_invoice_secondary: {"{"} schema: fact_invoice_secondary, files: "invoices_{"{date}"}.csv.gz", late_days: 5, on_changed: {onChanged} {"}"}
            jobs:
              morning:
                steps:
                  - {"{"} name: facts, tables: [fact_invoice_secondary], mode: append {"}"}
            """);
        return root;
    }

    private async Task WriteDaysAsync(DateOnly from, int days, int rows = 1_500, int seed = 11)
    {
        for (var i = 0; i < days; i++)
        {
            await TenantDataGenerator.WriteDayAsync(Incoming, from.AddDays(i), seed + i, rows, default);
        }
    }

    /// <summary>Rows the table keeps from the day's files (the spec drops qty = 0) and their sum of qty.</summary>
    private (long Rows, long Qty) Expected(params DateOnly[] days)
    {
        var files = string.Join(", ", days.Select(d => DuckDbQuery.Literal(Path.Combine(Incoming, $"invoices_{d:yyyy-MM-dd}.csv.gz"))));
        var row = DuckDbQuery.Rows($"SELECT count(*), sum(trim(Qty)::BIGINT)::BIGINT FROM read_csv([{files}], header = true, all_varchar = true) WHERE trim(Qty)::BIGINT <> 0")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]));
    }

    /// <summary>What the table holds: rows, distinct invoice keys (a duplicate shows here), sum of qty.</summary>
    private (long Rows, long Distinct, long Qty) Loaded()
    {
        // A run killed early may leave a database whose first transaction, creating the table, never committed.
        if (!File.Exists(Database)
            || Convert.ToInt64(DuckDbQuery.Scalar(Database, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fact_invoice_secondary'")) == 0)
        {
            return (0, 0, 0);
        }

        var row = DuckDbQuery.Rows(Database, "SELECT count(*), count(DISTINCT invoice_key), coalesce(sum(qty), 0)::BIGINT FROM fact_invoice_secondary")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]), Convert.ToInt64(row[2]));
    }

    /// <summary>What the Parquet lake table holds: files, rows, distinct invoice keys, sum of qty.</summary>
    private (int Files, long Rows, long Distinct, long Qty) LakeLoaded()
    {
        var folder = Path.Combine(Lake, "fact_invoice_secondary");
        var files = Directory.GetFiles(folder).Length;
        var row = DuckDbQuery.Rows($"SELECT count(*), count(DISTINCT invoice_key), coalesce(sum(qty), 0)::BIGINT FROM read_parquet({DuckDbQuery.Literal(Path.Combine(folder, "*.parquet"))})")[0];
        return (files, Convert.ToInt64(row[0]), Convert.ToInt64(row[1]), Convert.ToInt64(row[2]));
    }

    private async Task<IReadOnlyList<TableLoadResult>> RunAsync(TenantConfig tenant, DateOnly date, LoadLedger ledger, ILogger? logger = null)
    {
        var runId = await ledger.StartRunAsync(tenant.Id, "morning", date, default);
        return await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", date, default, lateFiles: true), new LoadOptions { RejectsPath = _dir.File("rejects") },
            logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, default, ledger: new LedgerRun(ledger, runId));
    }

    /// <summary>
    /// A Parquet lake tenant has no transaction to put a ledger row in: its writes are idempotent instead. With the
    /// ledger lost (a crash after the files were published, before the ledger heard of them), the rerun writes the
    /// same files again and the lake holds every row once; a re-uploaded file replaces its old version's file.
    /// </summary>
    [Fact]
    public async Task A_parquet_lake_tenant_reloads_without_doubling_when_the_ledger_is_lost_and_replaces_re_uploads()
    {
        var tenant = TenantConfigReader.Read(Configs("replace_partition", $"{{ kind: parquet, path: {Lake} }}"), "acme");
        await WriteDaysAsync(Day1, 2);
        await using (var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default))
        {
            await RunAsync(tenant, Day1, ledger);
            await RunAsync(tenant, Day1.AddDays(1), ledger);
        }

        var expected = Expected(Day1, Day1.AddDays(1));
        Assert.Equal((2, expected.Rows, expected.Rows, expected.Qty), LakeLoaded());

        File.Delete(_dir.File("state/ledger.db"));
        await using (var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default))
        {
            var again = await RunAsync(tenant, Day1.AddDays(1), ledger);
            Assert.Equal(1, again.Single().Result.Files); // nothing on record: the day is written again
            Assert.Equal((2, expected.Rows, expected.Rows, expected.Qty), LakeLoaded());

            // Day 2 re-uploaded with other rows: its file is replaced. Day 1, within late_days of the watermark and
            // not in the new ledger, is written again under the same name.
            await WriteDaysAsync(Day1.AddDays(1), 1, rows: 700, seed: 99);
            File.SetLastWriteTimeUtc(Path.Combine(Incoming, "invoices_2026-11-21.csv.gz"), DateTime.UtcNow.AddMinutes(1));
            var replaced = await RunAsync(tenant, Day1.AddDays(1), ledger);
            Assert.Equal(2, replaced.Single().Result.Files);
        }

        expected = Expected(Day1, Day1.AddDays(1));
        Assert.Equal((2, expected.Rows, expected.Rows, expected.Qty), LakeLoaded());
    }

    [Fact]
    public async Task A_rerun_loads_nothing_new_and_files_since_the_watermark_and_late_files_load_once()
    {
        var tenant = TenantConfigReader.Read(Configs(), "acme");
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        await WriteDaysAsync(Day1, 2);
        var logs = new ListLogger();

        var first = await RunAsync(tenant, Day1, ledger); // first run: only its own date, though day 2 is there
        Assert.Equal(Expected(Day1).Rows, first.Single().Result.RowsLoaded);

        var rerun = await RunAsync(tenant, Day1, ledger, logs);
        Assert.Equal((0L, 1), (rerun.Single().Result.RowsLoaded, rerun.Single().AlreadyLoaded));
        Assert.Contains("acme/morning: fact_invoice_secondary: nothing new (1 file already loaded)", logs.Messages);

        // Day 4's run takes day 2 (since the watermark) and day 4; day 3 never arrived.
        await WriteDaysAsync(Day1.AddDays(3), 1, seed: 40);
        var day4 = await RunAsync(tenant, Day1.AddDays(3), ledger);
        Assert.Equal(2, day4.Single().Result.Files);

        // Day 3 arrives late, a file too old for late_days (5) arrives too: a rerun of day 4 takes only day 3.
        await WriteDaysAsync(Day1.AddDays(2), 1, seed: 30);
        await WriteDaysAsync(Day1.AddDays(-3), 1, seed: 20);
        var late = await RunAsync(tenant, Day1.AddDays(3), ledger, logs);
        Assert.Equal([Path.Combine(Incoming, "invoices_2026-11-22.csv.gz")], late.Single().Files);
        Assert.Contains($"acme: fact_invoice_secondary: late file {Path.Combine(Incoming, "invoices_2026-11-22.csv.gz")} (the table's watermark is 2026-11-23): loading it", logs.Messages);

        var expected = Expected(Day1, Day1.AddDays(1), Day1.AddDays(2), Day1.AddDays(3));
        Assert.Equal((expected.Rows, expected.Rows, expected.Qty), Loaded());
        Assert.Equal(new DateOnly(2026, 11, 23), await ledger.WatermarkAsync("acme", "duckdb:datawiz_acme/fact_invoice_secondary", default));
    }

    [Theory]
    [InlineData("skip")]
    [InlineData("replace_partition")]
    public async Task A_re_uploaded_file_is_kept_with_a_warning_or_replaces_its_own_rows(string policy)
    {
        var tenant = TenantConfigReader.Read(Configs(policy), "acme");
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        await WriteDaysAsync(Day1, 2);
        await RunAsync(tenant, Day1, ledger);
        await RunAsync(tenant, Day1.AddDays(1), ledger);
        var before = Expected(Day1, Day1.AddDays(1));

        var file = Path.Combine(Incoming, "invoices_2026-11-20.csv.gz");
        File.Delete(file);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 99, invoiceRows: 700, default);
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(1)); // a new version: size and mtime differ
        var logs = new ListLogger();
        var rerun = await RunAsync(tenant, Day1.AddDays(1), ledger, logs);

        if (policy == "skip")
        {
            Assert.Equal(0, rerun.Single().Result.RowsLoaded);
            Assert.Contains($"acme: fact_invoice_secondary: {file} was re-uploaded with new content; on_changed: skip keeps the version already loaded", logs.Messages);
            Assert.Equal((before.Rows, before.Rows, before.Qty), Loaded());
        }
        else
        {
            var after = Expected(Day1, Day1.AddDays(1));
            Assert.NotEqual(before, after);
            Assert.Equal((after.Rows, after.Rows, after.Qty), Loaded());
            Assert.Contains($"acme: fact_invoice_secondary: {file} was re-uploaded with new content; on_changed: replace_partition replaces its rows", logs.Messages);
        }
    }

    [Fact]
    public async Task A_commit_the_ledger_never_booked_is_healed_from_the_table_and_not_loaded_again()
    {
        var tenant = TenantConfigReader.Read(Configs(), "acme");
        await WriteDaysAsync(Day1, 1);
        var table = tenant.Tables["fact_invoice_secondary"];
        var target = TenantJobRunner.TargetOf(tenant, table);

        // A run that committed its rows (and the table's own ledger row) and died before booking them.
        var sink = new DuckDbSink(DuckDbSinkProvider.Options(tenant, table, StepMode.Append) with { Ledger = new LedgerStamp("acme", target, "died") });
        await using (sink)
        {
            var files = EtlStream.Sources.Local.LocalFileSource.List(Path.Combine(Incoming, "invoices_2026-11-20.csv.gz"));
            await new LoadPipeline(new LoadOptions { TenantId = "acme", LoadDate = Day1 }).RunAsync(files, table.Spec, sink, default);
        }

        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        var logs = new ListLogger();
        var rerun = await RunAsync(tenant, Day1, ledger, logs);

        Assert.Equal((0L, 1), (rerun.Single().Result.RowsLoaded, rerun.Single().AlreadyLoaded));
        Assert.Equal("died", (await ledger.CommittedAsync("acme", target, default)).Single().Value.RunId);
        Assert.Contains($"acme: {target}: 1 file was committed by a run that stopped before booking them; booked now from the table's own ledger", logs.Messages);
        var expected = Expected(Day1);
        Assert.Equal((expected.Rows, expected.Rows, expected.Qty), Loaded());
    }

    [Fact]
    public async Task Backfill_shards_cover_the_range_exactly_once_and_the_plan_shows_what_is_loaded()
    {
        var configs = Configs();
        await WriteDaysAsync(Day1, 6, rows: 400);
        string[] Args(string shard, params string[] more) =>
            ["backfill", "--config", configs, "--tenant", "acme", "--table", "fact_invoice_secondary", "--from", "2026-11-19", "--to", "2026-11-25", "--shard", shard, "--state", _dir.File("state/ledger.db"), .. more];

        var shardFiles = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var plan = await CliTests.RunAsync(_dir.Path, Args($"{i}/3", "--plan"));
            Assert.Equal(0, plan.ExitCode);
            shardFiles.AddRange(plan.Out.Split('\n').Where(l => l.StartsWith("  2026-", StringComparison.Ordinal)).SelectMany(l => l[14..].Split(", ")).Select(f => f.Trim()));
            var run = await CliTests.RunAsync(_dir.Path, Args($"{i}/3"));
            Assert.True(run.ExitCode == 0, run.Err);
        }

        Assert.Equal(Enumerable.Range(0, 6).Select(d => $"invoices_{Day1.AddDays(d):yyyy-MM-dd}.csv.gz").Order(), shardFiles.Order());
        var expected = Expected([.. Enumerable.Range(0, 6).Select(Day1.AddDays)]);
        Assert.Equal((expected.Rows, expected.Rows, expected.Qty), Loaded());

        var whole = await CliTests.RunAsync(_dir.Path, Args("0/1", "--plan"));
        Assert.Contains("backfill: tenant acme, table fact_invoice_secondary, 2026-11-19 to 2026-11-25, shard 0/1: 6 files on 6 dates", whole.Out, StringComparison.Ordinal);
        Assert.Contains("6 already loaded", whole.Out, StringComparison.Ordinal);
        Assert.Contains("  2026-11-20: invoices_2026-11-20.csv.gz (loaded)", whole.Out, StringComparison.Ordinal);
        var again = await CliTests.RunAsync(_dir.Path, Args("0/1"));
        Assert.Contains("loaded 0 rows from 0 files", again.Out, StringComparison.Ordinal);
        Assert.Equal((expected.Rows, expected.Rows, expected.Qty), Loaded());

        var runs = await CliTests.RunAsync(_dir.Path, "runs", "--state", _dir.File("state/ledger.db"));
        Assert.Equal(4, runs.Out.Split('\n').Count(l => l.Contains(" acme ", StringComparison.Ordinal) && l.Contains("succeeded", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_backfill_killed_at_random_moments_ends_with_every_row_exactly_once()
    {
        var configs = Configs();
        // Enough work (~20 files of 20,000 rows) that most of 20 short-lived runs die mid-way rather than after the end.
        const int Days = 20;
        await WriteDaysAsync(Day1, Days, rows: 20_000);
        string[] args = ["backfill", "--config", configs, "--tenant", "acme", "--table", "fact_invoice_secondary", "--from", "2026-11-20", "--to", "2026-12-09", "--state", _dir.File("state/ledger.db"), "--parallel-files", "1"];
        var (killedMidway, failures) = await CrashLoop.KillRepeatedlyAsync(_dir.Path, args, iterations: 20, seed: 20261124, 300, 1_500, () =>
        {
            var partial = Loaded();
            Assert.Equal(partial.Rows, partial.Distinct); // never a duplicate, whenever it died
            return Task.CompletedTask;
        });

        var final = await CliTests.RunAsync(_dir.Path, args);
        Assert.True(final.ExitCode == 0, final.Err);
        var expected = Expected([.. Enumerable.Range(0, Days).Select(Day1.AddDays)]);
        Assert.Equal((expected.Rows, expected.Rows, expected.Qty), Loaded());
        Assert.True(killedMidway >= 8, $"only {killedMidway} of 20 runs were killed before they finished: the kill window misses the load; runs that failed by themselves: {string.Join("; ", failures)}");
    }
}
