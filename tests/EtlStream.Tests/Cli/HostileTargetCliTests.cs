using System.Text.Json;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>Targets and reports as a hostile or careless caller gives them: what is refused, what is written where, and the exit codes.</summary>
public sealed class HostileTargetCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public HostileTargetCliTests() => File.WriteAllText(_dir.File("in.csv"), "a,b\n1,x\n2,y\n");

    public void Dispose() => _dir.Dispose();

    private Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => CliProcess.RunAsync(_dir.Path, null, args);

    [Fact]
    public async Task A_duckdb_path_with_a_semicolon_loads_into_exactly_that_file()
    {
        var database = _dir.File("w;x.duckdb");
        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{database}?table=t");

        Assert.Equal((0, ""), (code, stderr));
        Assert.StartsWith("loaded 2 rows into table t (2 read) from 1 file", stdout);
        Assert.Equal([["1", "x"], ["2", "y"]], DuckDbQuery.Rows(database, "SELECT a, b FROM t ORDER BY a"));
        Assert.Equal(["in.csv", "w;x.duckdb"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_duckdb_target_holding_connection_string_text_is_refused_and_nothing_is_loaded()
    {
        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", "duckdb:cs.duckdb;Data Source=:memory:?table=t");

        Assert.Equal((2, ""), (code, stdout));
        Assert.StartsWith(
            "error: Invalid target 'duckdb:cs.duckdb;Data Source=:memory:?table=t': the DuckDB file 'cs.duckdb;Data Source=:memory:' holds connection-string text (';Data Source='): a target is a file path, never connection-string options (table and mode go after '?'). Supported forms: ",
            stderr);
        Assert.Equal(["in.csv"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("duckdb::memory:?table=t", "':memory:' is DuckDB's in-memory database, whose rows are gone when the run ends: give a file")]
    [InlineData("duckdb:md:warehouse?table=t", "the DuckDB file 'md:warehouse' starts with 'md:', which DuckDB reads as a remote or special database: give a local file path")]
    public async Task A_duckdb_target_that_is_not_a_local_file_is_refused(string target, string reason)
    {
        var (code, _, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", target);

        Assert.Equal(2, code);
        Assert.StartsWith($"error: Invalid target '{target}': {reason}. Supported forms: ", stderr);
        Assert.Equal(["in.csv"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_report_path_that_cannot_be_written_fails_before_anything_is_loaded()
    {
        var report = Path.Combine(_dir.File("in.csv"), "run.json"); // under a file: no folder can be made there
        var database = _dir.File("w.duckdb");
        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{database}?table=t", "--report", report);

        Assert.Equal((2, ""), (code, stdout));
        Assert.StartsWith($"error: --report {report}: the report cannot be written there (", stderr);
        Assert.EndsWith("); nothing was loaded\n", stderr);
        Assert.False(File.Exists(database));
    }

    [Fact]
    public async Task A_report_that_fails_after_the_commit_is_a_warning_and_the_run_succeeds()
    {
        // /dev/full opens for writing (so the check before loading passes) and fails every write: a disk that
        // filled up while the run loaded.
        var database = _dir.File("w.duckdb");
        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{database}?table=t", "--report", "/dev/full");

        Assert.Equal(0, code);
        Assert.StartsWith("loaded 2 rows", stdout);
        Assert.Equal(
            "warning: --report /dev/full: the report was not written (No space left on device : '/dev/full'); the load itself succeeded: 2 rows are committed, do not load them again\n",
            stderr);
        Assert.Equal(2L, Convert.ToInt64(DuckDbQuery.Scalar(database, "SELECT count(*) FROM t")));
    }

    [Fact]
    public async Task A_refused_target_with_a_password_reaches_neither_stderr_nor_the_report()
    {
        var report = _dir.File("run.json");
        var (code, _, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", "postgres://loader:s3cret-pw@db.example/d?table=t", "--report", report);

        Assert.Equal(2, code);
        Assert.StartsWith("error: Invalid target 'postgres://loader:***@db.example/d?table=t': a password does not belong in the target", stderr);
        var text = await File.ReadAllTextAsync(report);
        Assert.DoesNotContain("s3cret-pw", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("failed", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("postgres://loader:***@db.example/d?table=t", json.RootElement.GetProperty("target").GetString());
        Assert.StartsWith("Invalid target 'postgres://loader:***@db.example/d?table=t': a password", json.RootElement.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("/dev/null", "a character device")]
    [InlineData("fifo", "a FIFO (named pipe)")]
    public async Task A_csv_target_that_is_not_a_regular_file_is_refused_and_left_as_it_was(string name, string kind)
    {
        var path = name.StartsWith('/') ? name : _dir.File(name);
        if (name == "fifo")
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", path);
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"csv:{path}");

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal(
            $"error: csv:{path}: '{path}' is {kind}, not a regular file: the finished file is renamed over the target, which would replace it, so only regular files and new paths are written.\n",
            stderr);
        Assert.Equal($"'{path}' is {kind}, not a regular file: the finished file is renamed over the target, which would replace it, so only regular files and new paths are written",
            EtlStream.Sinks.Csv.FileTargetKind.WhyNotReplaceable(path)); // still what it was
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp"));
    }

    [Fact]
    public async Task A_csv_target_that_is_a_folder_is_refused()
    {
        var (code, _, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"csv:{_dir.Path}");

        Assert.Equal(2, code);
        Assert.Equal($"error: csv:{_dir.Path}: '{_dir.Path}' is a folder, not a file.\n", stderr);
    }

    private string Fifo(string name)
    {
        var path = _dir.File(name);
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", path);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    private const string NotReplaceable = "not a regular file: the finished file is renamed over the target, which would replace it, so only regular files and new paths are written";

    [Theory]
    [InlineData("/dev/null", "a character device")]
    [InlineData("fifo", "a FIFO (named pipe)")]
    public async Task A_parquet_target_that_is_not_a_regular_file_is_refused_and_left_as_it_was(string name, string kind)
    {
        var path = name.StartsWith('/') ? name : Fifo(name);

        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"parquet:{path}");

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal($"error: parquet:{path}: '{path}' is {kind}, {NotReplaceable}.\n", stderr);
        Assert.Equal($"'{path}' is {kind}, {NotReplaceable}", EtlStream.Sinks.Csv.FileTargetKind.WhyNotReplaceable(path)); // still what it was
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp"));
    }

    [Fact]
    public async Task A_rejects_file_that_is_a_fifo_is_refused_before_anything_is_loaded()
    {
        var fifo = Fifo("rejects.parquet");
        var database = _dir.File("w.duckdb");

        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{database}?table=t", "--rejects", fifo);

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal($"error: --rejects: '{fifo}' is a FIFO (named pipe), {NotReplaceable}.\n", stderr);
        Assert.False(File.Exists(database));
    }

    [Fact]
    public async Task A_duckdb_file_that_is_a_fifo_is_refused_as_target_and_as_rejects_table()
    {
        var fifo = Fifo("w.duckdb");
        var reason = $"the DuckDB file '{fifo}' is a FIFO (named pipe), not a database file";

        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{fifo}?table=t");
        Assert.Equal((2, ""), (code, stdout));
        Assert.StartsWith($"error: Invalid target 'duckdb:{fifo}?table=t': {reason}. Supported forms: ", stderr);

        var database = _dir.File("ok.duckdb");
        (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{database}?table=t", "--rejects-table", $"duckdb:{fifo}?table=etl_rejects");
        Assert.Equal((2, ""), (code, stdout));
        Assert.StartsWith($"error: Invalid target 'duckdb:{fifo}?table=etl_rejects': {reason}. Supported forms: ", stderr);
        Assert.False(File.Exists(database));
    }

    [Fact]
    public async Task A_duckdb_target_that_is_a_link_to_a_database_loads_through_the_link()
    {
        var database = _dir.File("real.duckdb");
        var link = _dir.File("link.duckdb");
        var (code, _, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{database}?table=t");
        Assert.Equal((0, ""), (code, stderr));
        File.CreateSymbolicLink(link, database);

        (code, _, stderr) = await RunAsync("load", _dir.File("in.csv"), "--to", $"duckdb:{link}?table=t");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Equal(4L, Convert.ToInt64(DuckDbQuery.Scalar(database, "SELECT count(*) FROM t")));
    }

    [Fact]
    public async Task A_table_spec_that_is_a_folder_or_a_fifo_says_what_it_is()
    {
        var folder = _dir.File("specs");
        Directory.CreateDirectory(folder);
        var (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--table", folder, "--to", $"parquet:{_dir.File("out.parquet")}");
        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal($"error: --table {folder}: is a folder, not a spec file\n", stderr);

        var fifo = Fifo("spec.yaml"); // opening it would wait for a writer forever
        (code, stdout, stderr) = await RunAsync("load", _dir.File("in.csv"), "--table", fifo, "--to", $"parquet:{_dir.File("out.parquet")}").WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal($"error: --table {fifo}: is a FIFO (named pipe), not a spec file\n", stderr);
        Assert.False(File.Exists(_dir.File("out.parquet")));
    }
}
