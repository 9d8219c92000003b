using System.Text.Json;
using EtlStream.Generation;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.State;

/// <summary>
/// Managing the load ledger from the CLI: <c>ledger list|forget</c>, <c>run|backfill --reload</c>, and files the
/// target's own ledger table lost (a dropped database) loading again. Every run is a CLI process started in the
/// installation's folder (outside the repository), which holds configs/ with relative tenant paths.
/// </summary>
public sealed class LedgerCommandTests : IDisposable
{
    private static readonly DateOnly Day1 = new(2026, 11, 20);
    private static readonly DateOnly Day2 = new(2026, 11, 21);
    private const string Target = "duckdb:datawiz_acme/fact_invoice_secondary";
    private readonly TempDirectory _dir = new();

    public LedgerCommandTests()
    {
        var configs = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(configs, "schemas"));
        foreach (var schema in new[] { "fact_invoice_secondary", "dealers" })
        {
            File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", schema + ".yaml"), Path.Combine(configs, "schemas", schema + ".yaml"));
        }

        Directory.CreateDirectory(Path.Combine(configs, "tenants", "acme"));
        File.WriteAllText(Path.Combine(configs, "tenants", "acme", "tenant.yaml"), """
            tenant: acme
            database: datawiz_acme
            source: { kind: local, path: incoming }
            sink: { kind: duckdb, path: warehouse/acme.duckdb }
            tables:
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz" }
              dealers: { schema: dealers, files: "dealers_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
              dims:
                steps:
                  - { name: dims, tables: [dealers], mode: append }
            """);
    }

    public void Dispose() => _dir.Dispose();

    private string Database => _dir.File("warehouse/acme.duckdb");

    private string Ledger => _dir.File("state/ledger.db");

    private Task<(int ExitCode, string Out, string Err)> Cli(params string[] args) =>
        CliProcess.RunAsync(_dir.Path, new Dictionary<string, string?> { ["ETLSTREAM_HOME"] = null }, args);

    private Task<(int ExitCode, string Out, string Err)> Run(DateOnly date, params string[] more) =>
        Cli(["run", "--tenant", "acme", "--job", "morning", "--date", $"{date:yyyy-MM-dd}", .. more]);

    private Task<(int ExitCode, string Out, string Err)> Backfill(params string[] more) =>
        Cli(["backfill", "--tenant", "acme", "--table", "fact_invoice_secondary", "--from", $"{Day1:yyyy-MM-dd}", "--to", $"{Day2:yyyy-MM-dd}", .. more]);

    private async Task TwoDaysLoadedAsync()
    {
        await TenantDataGenerator.WriteDayAsync(_dir.File("incoming"), Day1, 11, 400, default);
        await TenantDataGenerator.WriteDayAsync(_dir.File("incoming"), Day2, 12, 400, default);
        Assert.Equal(0, (await Run(Day1)).ExitCode);
        Assert.Equal(0, (await Run(Day2)).ExitCode);
        Assert.Equal(Expected(Day1, Day2), Loaded());
    }

    /// <summary>Rows the table keeps from the days' files (the spec drops qty = 0): rows, distinct keys, sum of qty.</summary>
    private (long Rows, long Distinct, long Qty) Expected(params DateOnly[] days)
    {
        var files = string.Join(", ", days.Select(d => DuckDbQuery.Literal(_dir.File($"incoming/invoices_{d:yyyy-MM-dd}.csv.gz"))));
        var row = DuckDbQuery.Rows($"SELECT count(*), sum(trim(Qty)::BIGINT)::BIGINT FROM read_csv([{files}], header = true, all_varchar = true) WHERE trim(Qty)::BIGINT <> 0")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[0]), Convert.ToInt64(row[1]));
    }

    private (long Rows, long Distinct, long Qty) Loaded()
    {
        var row = DuckDbQuery.Rows(Database, "SELECT count(*), count(DISTINCT invoice_key), coalesce(sum(qty), 0)::BIGINT FROM fact_invoice_secondary")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]), Convert.ToInt64(row[2]));
    }

    private void Execute(string sql)
    {
        using var connection = new DuckDB.NET.Data.DuckDBConnection($"Data Source={Database}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string[] Lines(string text) => text.TrimEnd('\n').Split('\n');

    [Fact]
    public async Task Ledger_list_and_forget_filter_by_tenant_table_date_and_file_and_a_forgotten_file_loads_again()
    {
        await TwoDaysLoadedAsync();

        var list = await Cli("ledger", "list", "--tenant", "acme");
        Assert.Equal((0, ""), (list.ExitCode, list.Err));
        var lines = Lines(list.Out);
        Assert.Equal("tenant          table                     file date           rows  file                                run                     committed (UTC)", lines[0]);
        Assert.StartsWith("acme            fact_invoice_secondary    2026-11-20           400  invoices_2026-11-20.csv.gz          2026", lines[1]);
        Assert.StartsWith("acme            fact_invoice_secondary    2026-11-21           400  invoices_2026-11-21.csv.gz          2026", lines[2]);
        Assert.Equal($"2 files (800 rows) booked in {Ledger}", lines[3]);

        var json = await Cli("ledger", "list", "--table", "fact_invoice_secondary", "--from", "2026-11-21", "--output", "json");
        Assert.Equal(0, json.ExitCode);
        var file = Assert.Single(JsonDocument.Parse(json.Out).RootElement.GetProperty("files").EnumerateArray());
        Assert.Equal(("acme", Target, "invoices_2026-11-21.csv.gz", "2026-11-21", 400L),
            (file.GetProperty("tenant").GetString(), file.GetProperty("target").GetString(), file.GetProperty("file").GetString(), file.GetProperty("fileDate").GetString(), file.GetProperty("rows").GetInt64()));
        Assert.Equal((0, $"0 files (0 rows) booked in {Ledger}\n", ""), await Cli("ledger", "list", "--table", "dealers"));

        Assert.Equal((2, "", "error: ledger forget: give at least one of --tenant, --table, --from, --to, --file (to forget everything, delete the ledger file)\n"), await Cli("ledger", "forget"));
        Assert.Equal((2, "", "error: --from: '20-11-2026' is not a date in the form yyyy-MM-dd\n"), await Cli("ledger", "forget", "--from", "20-11-2026"));

        var dry = await Cli("ledger", "forget", "--file", "invoices_2026-11-20.csv.gz", "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        Assert.Equal($"would forget 1 file (400 rows) (dry run: nothing changed in {Ledger})", Lines(dry.Out)[^1]);
        Assert.Equal(4, Lines((await Cli("ledger", "list")).Out).Length);

        // Day 1's rows deleted by hand, then its file forgotten: the backfill loads it again, and only it. The table's
        // own _etlstream_ledger still lists day 1's first load, which must not be booked back.
        Execute("DELETE FROM fact_invoice_secondary WHERE source_file = 'invoices_2026-11-20.csv.gz'");
        var forget = await Cli("ledger", "forget", "--tenant", "acme", "--file", "invoices_2026-11-20.csv.gz");
        Assert.Equal(0, forget.ExitCode);
        Assert.Equal($"forgot 1 file (400 rows) in {Ledger}: the next run or backfill of their dates loads them again", Lines(forget.Out)[^1]);
        Assert.Equal($"1 file (400 rows) booked in {Ledger}", Lines((await Cli("ledger", "list")).Out)[^1]);

        var backfill = await Backfill();
        Assert.Equal((0, ""), (backfill.ExitCode, backfill.Err));
        Assert.StartsWith($"acme/fact_invoice_secondary backfill 2026-11-20..2026-11-21 shard 0/1: loaded {Expected(Day1).Rows:N0} rows from 1 file (run ", backfill.Out);
        Assert.Equal(Expected(Day1, Day2), Loaded());
        Assert.Equal($"2 files (800 rows) booked in {Ledger}", Lines((await Cli("ledger", "list")).Out)[^1]);
    }

    [Fact]
    public async Task Files_the_target_lost_with_its_database_or_tables_are_treated_as_not_loaded_and_load_again()
    {
        await TwoDaysLoadedAsync();
        var lost = $"warn: acme: {Target}: 2 files booked in the load ledger are not in the target's own _etlstream_ledger (its database or table was dropped or re-created?): they load again\n";

        // The database file deleted: the day's run loads its date again (the watermark went with the lost files).
        File.Delete(Database);
        var rerun = await Run(Day2);
        Assert.Equal((0, lost), (rerun.ExitCode, rerun.Err));
        Assert.Equal(Expected(Day2), Loaded());
        var backfill = await Backfill();
        Assert.Equal((0, ""), (backfill.ExitCode, backfill.Err));
        Assert.Equal(Expected(Day1, Day2), Loaded());

        // The tables dropped inside a database that is still there: the same.
        Execute("DROP TABLE fact_invoice_secondary");
        Execute("DROP TABLE _etlstream_ledger");
        Assert.Equal((0, lost), (await Backfill() is var again ? (again.ExitCode, again.Err) : default));
        Assert.Equal(Expected(Day1, Day2), Loaded());

        // Nothing lost: a rerun loads nothing and says nothing.
        Assert.Equal((0, ""), (await Run(Day2) is var quiet ? (quiet.ExitCode, quiet.Err) : default));
        Assert.Equal(Expected(Day1, Day2), Loaded());
    }

    [Fact]
    public async Task Run_reload_replaces_a_dates_rows_and_is_refused_where_rows_would_double()
    {
        await TwoDaysLoadedAsync();
        var reload = await Run(Day1, "--reload");
        Assert.Equal((0, "warn: acme: fact_invoice_secondary: --reload: loading 1 file of 2026-11-20 again\n"), (reload.ExitCode, reload.Err));
        Assert.StartsWith($"acme/morning 2026-11-20: loaded {Expected(Day1).Rows:N0} rows into 1 table load", Lines(reload.Out)[^1]);
        Assert.Equal(Expected(Day1, Day2), Loaded()); // the day's earlier rows were replaced, not doubled

        var backfill = await Backfill("--reload");
        Assert.Equal(0, backfill.ExitCode);
        Assert.StartsWith($"acme/fact_invoice_secondary backfill 2026-11-20..2026-11-21 shard 0/1: loaded {Expected(Day1, Day2).Rows:N0} rows from 2 files", backfill.Out);
        Assert.Equal(Expected(Day1, Day2), Loaded());

        // dealers has no source_file column: its earlier rows could not be told apart, so --reload is refused, loading nothing.
        var refused = await Cli("run", "--tenant", "acme", "--job", "dims", "--date", "2026-11-20", "--reload");
        Assert.Equal((2, "", "error: --reload: step dims appends to dealers, which has no source_file column (computed: source_file) to delete the files' earlier rows by, so they would be loaded a second time. Add the column, or reload through a replace step\n"), refused);
        Assert.Equal(0L, Convert.ToInt64(DuckDbQuery.Scalar(Database, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dealers'")));
    }

    [Fact]
    public void Reload_is_refused_for_appends_into_servers_and_for_stream_load_targets_but_not_for_merges_and_refreshes()
    {
        var tenant = TenantConfigReader.Read(_dir.File("configs"), "acme");
        var facts = tenant.Tables["fact_invoice_secondary"];
        var postgres = tenant with { Sink = new SinkConfig("postgres", "postgres://loader@127.0.0.1:5432/datawiz_acme") };
        Assert.Equal(
            ["--reload: step facts appends to fact_invoice_secondary in postgres, so rows the files already put there would be loaded a second time. Delete them first and run `etlstream ledger forget` for the files, or reload through a replace step (files the table's own _etlstream_ledger no longer lists load again without --reload)"],
            TenantJobRunner.ReloadProblems(postgres, [("facts", facts, StepMode.Append), ("m", facts, StepMode.Merge), ("r", facts, StepMode.Replace)]));
        var starrocks = tenant with { Sink = new SinkConfig("starrocks", "starrocks://loader@127.0.0.1:8030/datawiz_acme") };
        Assert.Equal(
            ["--reload: acme loads into starrocks, whose load labels make a second load of a file a no-op: fact_invoice_secondary would not be reloaded. Reload it through a replace step (a full refresh)"],
            TenantJobRunner.ReloadProblems(starrocks, [("m", facts, StepMode.Merge), ("r", facts, StepMode.Replace)]));
        Assert.Empty(TenantJobRunner.ReloadProblems(tenant with { Sink = new SinkConfig("parquet", _dir.File("lake")) }, [("facts", facts, StepMode.Append)]));
        Assert.Empty(TenantJobRunner.ReloadProblems(tenant, [("facts", facts, StepMode.Append)]));
    }
}
