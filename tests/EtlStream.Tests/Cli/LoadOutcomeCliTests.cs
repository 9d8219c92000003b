using System.Text.Json;
using System.Text.RegularExpressions;
using EtlStream.Sinks;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>
/// What a new user meets in <c>load</c>, <c>run</c> and <c>backfill</c> (issue 18): where rejects go, what machines get
/// when a run fails, which table an ad-hoc load fills, reloads, and the targets offered.
/// </summary>
[Collection(EtlStream.Tests.Sinks.SinkRegistryCollection.Name)] // reads the registry's list of forms
public sealed class LoadOutcomeCliTests : IDisposable
{
    private const string Spec = "table: zips\nmax_reject_ratio: 0.5\ncolumns:\n  - { name: zip, type: int32 }\n  - { name: city, type: string }\n";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<(int ExitCode, string Out, string Err)> Cli(params string[] args) => CliTests.RunAsync(_dir.Path, args);

    private async Task<string> WriteAsync(string name, string text)
    {
        var path = _dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    /// <summary>10 rows, the 2nd and 5th (lines 3 and 6) not integers.</summary>
    private Task<string> TenRowsTwoBadAsync() =>
        WriteAsync("zips.csv", "zip,city\n1,a\nx,b\n3,c\n4,d\ny,e\n6,f\n7,g\n8,h\n9,i\n10,j\n");

    private static long ParquetRows(string path) => Convert.ToInt64(DuckDbQuery.Scalar(null, $"SELECT count(*) FROM read_parquet({DuckDbQuery.Literal(path)})"));

    [Fact]
    public async Task Rejected_rows_land_in_the_default_rejects_file_that_the_summary_and_the_report_name()
    {
        var input = await TenRowsTwoBadAsync();
        var spec = await WriteAsync("zips.yaml", Spec);
        var report = _dir.File("run.json");

        var (code, stdout, stderr) = await Cli("load", input, "--table", spec, "--to", "duckdb:w.duckdb", "--report", report);

        Assert.Equal((0, ""), (code, stderr));
        var match = Regex.Match(stdout, @"^loaded 8 rows into table zips \(10 read, 2 rejected to (rejects/zips-\d{8}T\d{6}\.parquet)\) from 1 file in [\d.]+ s: ");
        Assert.True(match.Success, stdout);
        var rejects = match.Groups[1].Value;
        Assert.Equal([rejects], Directory.GetFiles(_dir.File("rejects")).Select(f => Path.GetRelativePath(_dir.Path, f)));
        Assert.Equal(
            [["x", 3L, "conversion"], ["y", 6L, "conversion"]],
            DuckDbQuery.Rows($"SELECT value, line, rule FROM read_parquet({DuckDbQuery.Literal(_dir.File(rejects))}) ORDER BY line").Select(r => r.ToArray()));
        var root = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
        Assert.Equal((2L, rejects), (root.GetProperty("rowsRejected").GetInt64(), root.GetProperty("rejectsPath").GetString()));
        Assert.Equal(8L, Convert.ToInt64(DuckDbQuery.Scalar(_dir.File("w.duckdb"), "SELECT count(*) FROM zips")));
    }

    [Fact]
    public async Task Over_max_reject_ratio_the_rejects_file_is_written_the_report_agrees_with_the_error_and_no_database_file_is_left()
    {
        var input = await TenRowsTwoBadAsync();
        var spec = await WriteAsync("zips.yaml", Spec.Replace("0.5", "0.1", StringComparison.Ordinal));
        var report = _dir.File("run.json");

        var (code, stdout, stderr) = await Cli("load", input, "--table", spec, "--to", "duckdb:new.duckdb", "--report", report);

        Assert.Equal((1, ""), (code, stdout));
        var match = Regex.Match(stderr, $@"^error: {Regex.Escape(input)}: 2 of 10 rows rejected \(20\.00 %\), over max_reject_ratio 0\.1; first: line 3, column 'zip': not an integer \(value 'x'\); rejected rows are in (rejects/zips-\d{{8}}T\d{{6}}\.parquet)\n$");
        Assert.True(match.Success, stderr);
        var rejects = match.Groups[1].Value;
        Assert.Equal(2, ParquetRows(_dir.File(rejects)));
        var root = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
        Assert.Equal("failed", root.GetProperty("status").GetString());
        Assert.Equal(stderr["error: ".Length..].TrimEnd('\n'), root.GetProperty("error").GetString());
        Assert.Equal((2L, 10L, 0L, rejects), (root.GetProperty("rowsRejected").GetInt64(), root.GetProperty("rowsRead").GetInt64(), root.GetProperty("rowsLoaded").GetInt64(), root.GetProperty("rejectsPath").GetString()));
        Assert.Equal(2L, root.GetProperty("rejectsByRule").GetProperty("conversion").GetInt64());
        Assert.False(File.Exists(_dir.File("new.duckdb")));
        Assert.False(File.Exists(_dir.File("new.duckdb.wal")));
    }

    [Fact]
    public async Task A_failed_load_into_an_existing_duckdb_file_keeps_the_file_and_its_rows()
    {
        var good = await WriteAsync("zips_good.csv", "zip,city\n1,a\n");
        var bad = await WriteAsync("zips_bad.csv", "zip,city\n1,a\n2\n");
        Assert.Equal(0, (await Cli("load", good, "--to", "duckdb:w.duckdb?table=zips")).ExitCode);

        var (code, _, stderr) = await Cli("load", bad, "--to", "duckdb:w.duckdb?table=zips");

        Assert.Equal((1, $"error: {bad}:3:1: expected 2 fields, found 1\n"), (code, stderr));
        Assert.Equal(1L, Convert.ToInt64(DuckDbQuery.Scalar(_dir.File("w.duckdb"), "SELECT count(*) FROM zips")));
    }

    public static TheoryData<string, int, string> Failures => new()
    {
        { "bad-data", 1, "{input}:4:1: expected 2 fields, found 1" },
        { "invalid-spec", 2, "{spec}: columns[0].type: unknown type 'intt' (expected string, varchar(n), int8, int16, int32, int64, decimal(p,s), float64, bool, date, timestamp)" },
        { "no-scheme", 2, "Invalid target 'x.parquet': no scheme (did you mean parquet:x.parquet?). Supported forms: " },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Json_output_is_one_object_on_stdout_when_the_load_fails_or_is_refused(string kind, int exitCode, string error)
    {
        var input = await WriteAsync("in.csv", "zip,city\n1,a\n2,b\n3\n");
        var spec = await WriteAsync("bad.yaml", "table: t\ncolumns:\n  - { name: zip, type: intt }\n");
        var target = kind == "no-scheme" ? "x.parquet" : "parquet:x.parquet";
        var args = new List<string> { "load", input, "--to", target, "--output", "json" };
        if (kind == "invalid-spec")
        {
            args.AddRange(["--table", spec]);
        }

        var (code, stdout, stderr) = await Cli([.. args]);

        Assert.Equal(exitCode, code);
        var expected = error.Replace("{input}", input, StringComparison.Ordinal).Replace("{spec}", spec, StringComparison.Ordinal);
        Assert.StartsWith("error: " + expected, stderr);
        var root = JsonDocument.Parse(stdout).RootElement; // one object, nothing else
        Assert.Equal("failed", root.GetProperty("status").GetString());
        Assert.Equal(stderr["error: ".Length..].TrimEnd('\n'), root.GetProperty("error").GetString());
        Assert.Equal((input, target), (root.GetProperty("input").GetString(), root.GetProperty("target").GetString()));
        Assert.DoesNotContain("(Parameter", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("x.parquet")));
    }

    [Theory]
    [InlineData("zipcodes_2026-12-01.csv", "zipcodes")]
    [InlineData("la-riots.csv", "la_riots")]
    public async Task Without_a_spec_the_table_is_named_from_the_file_and_the_summary_names_it(string file, string table)
    {
        var input = await WriteAsync(file, "zip,city\n1,a\n2,b\n");

        var (code, stdout, stderr) = await Cli("load", input, "--to", "duckdb:w.duckdb");
        var named = await Cli("load", input, "--to", "duckdb:w.duckdb", "--table-name", "places");

        Assert.Equal((0, ""), (code, stderr));
        Assert.StartsWith($"loaded 2 rows into table {table} (2 read) from 1 file in ", stdout);
        Assert.StartsWith("loaded 2 rows into table places (2 read)", named.Out);
        Assert.Equal(2L, Convert.ToInt64(DuckDbQuery.Scalar(_dir.File("w.duckdb"), $"SELECT count(*) FROM {table}")));
        Assert.Equal(2L, Convert.ToInt64(DuckDbQuery.Scalar(_dir.File("w.duckdb"), "SELECT count(*) FROM places")));
    }

    [Theory]
    [InlineData("zipcodes_2026-12-01.csv.gz", "zipcodes")]
    [InlineData("Sales Report-20261201.csv", "sales_report")]
    [InlineData("LA-Riots.csv", "la_riots")]
    [InlineData("invoices_2026-13-45.csv", "invoices_2026_13_45")]
    [InlineData("2026-12-01.csv", "t_2026_12_01")]
    [InlineData("in/dir.v2/__.csv", "data")]
    public void Table_names_from_files_are_lower_snake_case_without_a_trailing_date(string file, string table) =>
        Assert.Equal(table, TableNames.FromFileName(file));

    [Fact]
    public async Task Reloading_a_file_warns_that_it_was_appended_again_and_once_skips_it()
    {
        var input = await WriteAsync("zips.csv", "zip,city\n1,a\n2,b\n");
        var database = _dir.File("w.duckdb");
        Assert.Equal((0, ""), ((await Cli("load", input, "--to", "duckdb:w.duckdb")).ExitCode, (await Cli("load", input, "--to", "duckdb:w.duckdb?table=other")).Err));

        var again = await Cli("load", input, "--to", "duckdb:w.duckdb");
        var once = await Cli("load", input, "--to", $"duckdb:{database}", "--once");
        var parquetOnce = await Cli("load", input, "--to", "parquet:z.parquet", "--once");
        var labelsOnce = await Cli("load", input, "--to", "doris://loader@127.0.0.1:9/dw?table=zips", "--once");

        Assert.Equal(0, again.ExitCode);
        Assert.Matches($@"^warn: {Regex.Escape(input)} was already loaded into duckdb:{Regex.Escape(database)}/zips \(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC, 2 rows\): its rows were appended again \(--once skips files already loaded\)\n$", again.Err);
        Assert.Equal((0, ""), (once.ExitCode, once.Err));
        Assert.Matches(@"^loaded 0 rows into table zips \(0 read\) from 0 files in 0\.00 s: .*; 1 file already loaded, skipped \(--once\)\n$", once.Out);
        Assert.Equal(4L, Convert.ToInt64(DuckDbQuery.Scalar(database, "SELECT count(*) FROM zips")));
        Assert.Equal(2L, Convert.ToInt64(DuckDbQuery.Scalar(database, "SELECT count(*) FROM other")));
        Assert.Equal((2, "error: --once: parquet:z.parquet is replaced whole by every load; --once is for targets a load appends to (duckdb:, postgres://, mysql://, clickhouse:// without mode=replace)\n"), (parquetOnce.ExitCode, parquetOnce.Err));
        Assert.Equal((2, "error: --once: doris://loader@127.0.0.1:9/dw?table=zips is exactly-once through its load labels already; --once is for targets a load appends to (duckdb:, postgres://, mysql://, clickhouse:// without mode=replace)\n"), (labelsOnce.ExitCode, labelsOnce.Err));

        // A new version of the file (other content) is loaded by --once.
        await File.WriteAllTextAsync(input, "zip,city\n1,a\n2,b\n3,c\n");
        File.SetLastWriteTimeUtc(input, DateTime.UtcNow.AddMinutes(1));
        var changed = await Cli("load", input, "--to", "duckdb:w.duckdb", "--once");
        Assert.StartsWith("loaded 3 rows into table zips (3 read) from 1 file", changed.Out);
        Assert.Equal(7L, Convert.ToInt64(DuckDbQuery.Scalar(database, "SELECT count(*) FROM zips")));
    }

    [Fact]
    public async Task Load_help_the_errors_and_the_readme_list_every_target_kind()
    {
        var (code, stdout, _) = await Cli("load", "--help");
        Assert.Equal(0, code);
        var help = Regex.Replace(stdout, @"\s+", " ");
        var readme = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "README.md"));
        Assert.Equal(8, SinkTarget.Forms.Count);
        foreach (var form in SinkTarget.Forms)
        {
            Assert.Contains(form, help, StringComparison.Ordinal);
            Assert.Contains($"\n  - `{form}`", readme, StringComparison.Ordinal);
        }

        Assert.Contains(Regex.Replace(SinkTarget.FormNotes, @"\s+", " "), help, StringComparison.Ordinal);
    }

    /// <summary>A configs folder with the shipped schemas and tenant <c>acme</c> (pidilite's config) reading from the temp folder.</summary>
    private string Configs()
    {
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)));
        }

        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"),
            File.ReadAllText(Path.Combine(RepoPaths.Root, "configs", "tenants", "pidilite", "tenant.yaml"))
                .Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal)
                .Replace("data/tenants/pidilite/incoming", _dir.File("incoming"), StringComparison.Ordinal)
                .Replace("data/warehouse/", _dir.File("warehouse") + "/", StringComparison.Ordinal));
        Directory.CreateDirectory(_dir.File("incoming"));
        return root;
    }

    private async Task<RunRecord> OnlyRunAsync()
    {
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        return Assert.Single(await ledger.RunsAsync("acme", 10, default));
    }

    [Fact]
    public async Task A_run_whose_files_have_not_arrived_has_its_report_log_runs_row_and_json()
    {
        var root = Configs();
        var report = _dir.File("out/run.json");

        var (code, stdout, stderr) = await Cli("run", "--config", root, "--tenant", "acme", "--job", "morning", "--date", "2030-01-02", "--report", report, "--output", "json");

        Assert.Equal(1, code);
        var missing = $"acme: table 'dealers': no file matches 'dealers_2030-01-02.csv.gz' in {_dir.File("incoming")}";
        Assert.StartsWith("error: " + missing + "\n", stderr);
        var run = await OnlyRunAsync();
        Assert.Equal((RunStatus.Failed, "morning", new DateOnly(2030, 1, 2)), (run.Status, run.Job, run.RunDate));
        Assert.StartsWith(missing + "; acme: table 'products': no file matches", run.Error);
        foreach (var json in new[] { stdout, await File.ReadAllTextAsync(report) })
        {
            var root2 = JsonDocument.Parse(json).RootElement;
            Assert.Equal(("failed", run.RunId, "acme", "morning", "2030-01-02"),
                (root2.GetProperty("status").GetString(), root2.GetProperty("runId").GetString(), root2.GetProperty("tenant").GetString(), root2.GetProperty("job").GetString(), root2.GetProperty("date").GetString()));
            Assert.StartsWith(missing + "\n", root2.GetProperty("error").GetString());
        }

        var log = await File.ReadAllTextAsync(_dir.File("logs/acme/2030-01-02-morning.log"));
        Assert.Contains(" error: " + missing + "\n", log);
    }

    [Fact]
    public async Task A_run_or_backfill_whose_config_is_invalid_is_recorded_once_the_tenant_is_known()
    {
        var root = Configs();
        var yaml = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        await File.WriteAllTextAsync(yaml, (await File.ReadAllTextAsync(yaml)).Replace("kind: local", "kind: ftp", StringComparison.Ordinal));
        var expected = $"{yaml}: source.kind: 'ftp' is not supported (local, azure, s3)";

        var run = await Cli("run", "--config", root, "--tenant", "acme", "--job", "morning", "--date", "2030-01-02");
        var backfill = await Cli("backfill", "--config", root, "--tenant", "acme", "--table", "dealers", "--from", "2030-01-01", "--to", "2030-01-03", "--output", "json");
        var unknown = await Cli("run", "--config", root, "--tenant", "nobody", "--job", "morning", "--output", "json");

        Assert.Equal((2, $"error: {expected}\n"), (run.ExitCode, run.Err));
        Assert.Equal((2, $"error: {expected}\n"), (backfill.ExitCode, backfill.Err));
        var backfillJson = JsonDocument.Parse(backfill.Out).RootElement;
        Assert.Equal(("failed", expected, "backfill"), (backfillJson.GetProperty("status").GetString(), backfillJson.GetProperty("error").GetString(), backfillJson.GetProperty("job").GetString()));
        await using (var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default))
        {
            var runs = await ledger.RunsAsync(null, 10, default);
            Assert.Equal(
                [("acme", "backfill", new DateOnly(2030, 1, 3), RunStatus.Failed, expected), ("acme", "morning", new DateOnly(2030, 1, 2), RunStatus.Failed, expected)],
                runs.Select(r => (r.Tenant, r.Job, r.RunDate, r.Status, r.Error)).OrderBy(r => r.Job, StringComparer.Ordinal));
        }

        Assert.Contains(" error: " + expected, await File.ReadAllTextAsync(_dir.File("logs/acme/2030-01-02-morning.log")));
        Assert.Contains(" error: " + expected, await File.ReadAllTextAsync(_dir.File("logs/acme/2030-01-03-backfill-dealers.log")));

        // An unknown tenant is no run: nothing recorded, but JSON still says why.
        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal("failed", JsonDocument.Parse(unknown.Out).RootElement.GetProperty("status").GetString());
        Assert.False(Directory.Exists(_dir.File("logs/nobody")));
    }
}
