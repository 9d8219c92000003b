using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>Inputs that can be read only once (standard input, a FIFO) and a run stopped by SIGTERM or SIGINT.</summary>
public sealed class StreamInputCliTests : IDisposable
{
    private const string Csv = "id,name\n1,alpha\n2,beta\n3,gamma\n";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string MakeFifo(string name)
    {
        var path = _dir.File(name);
        using var mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    /// <summary>Opens the FIFO for writing (waiting for the reader, as a producer does) and writes <paramref name="bytes"/>.</summary>
    private static Task WriteFifoAsync(string fifo, byte[] bytes) => Task.Run(async () =>
    {
        await using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        await writer.WriteAsync(bytes);
    });

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    private static async Task<(int ExitCode, string Out, string Err)> RunWithStdinAsync(string workingDirectory, byte[] stdin, params string[] args)
    {
        var start = CliProcess.StartInfo(workingDirectory, args);
        start.RedirectStandardInput = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(stdin);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await stdout, await stderr);
    }

    private static List<string> Rows(string parquet) =>
        [.. DuckDbQuery.Rows(null, $"SELECT id || ':' || name FROM read_parquet({DuckDbQuery.Literal(parquet)}) ORDER BY id").Select(r => (string)r[0]!)];

    [Theory]
    [InlineData("-")]
    [InlineData("/dev/stdin")]
    public async Task Standard_input_without_a_spec_loads_every_row_reading_it_once(string input)
    {
        var output = _dir.File("out.parquet");
        var (code, stdout, stderr) = await RunWithStdinAsync(_dir.Path, Gzip(Csv), "load", input, "--to", $"parquet:{output}", "--no-progress");

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.StartsWith("loaded 3 rows into table stdin (3 read) from 1 file in ", stdout);
        Assert.Equal(["1:alpha", "2:beta", "3:gamma"], Rows(output));
    }

    [Fact]
    public async Task A_fifo_loads_every_row_without_a_spec_and_with_an_evolving_spec()
    {
        var fifo = MakeFifo("incoming.csv");
        var output = _dir.File("plain.parquet");
        var writing = WriteFifoAsync(fifo, Encoding.UTF8.GetBytes(Csv));
        var plain = await CliTests.RunAsync(_dir.Path, "load", fifo, "--to", $"parquet:{output}", "--no-progress");
        await writing.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal((0, ""), (plain.ExitCode, plain.Err));
        Assert.Equal(["1:alpha", "2:beta", "3:gamma"], Rows(output));

        // evolve reads every header before loading: the FIFO's header is read once, for both.
        var spec = _dir.File("spec.yaml");
        await File.WriteAllTextAsync(spec, "table: t\nschema_drift: evolve\ncolumns:\n  - { name: id, type: int64 }\n");
        output = _dir.File("evolved.parquet");
        writing = WriteFifoAsync(fifo, Gzip(Csv));
        var evolved = await CliTests.RunAsync(_dir.Path, "load", fifo, "--table", spec, "--to", $"parquet:{output}", "--no-progress");
        await writing.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, evolved.ExitCode);
        Assert.Equal($"warn: {fifo}: new column name added to the table (schema_drift: evolve)\n", evolved.Err);
        Assert.Equal(["1:alpha", "2:beta", "3:gamma"], Rows(output));
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task A_signal_mid_run_exits_130_and_leaves_no_output(string signal)
    {
        var fifo = MakeFifo("slow.csv");
        var output = _dir.File("out.parquet");
        using var process = Process.Start(WithSignalsAtDefault(CliProcess.StartInfo(_dir.Path, ["load", fifo, "--to", $"parquet:{output}", "--no-progress"])))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        // More than a pipe holds: once written, the CLI is reading rows. The FIFO stays open, so the run cannot end by itself.
        await using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        var rows = new StringBuilder("id,name\n");
        for (var i = 0; i < 20_000; i++)
        {
            rows.Append(i).Append(",name-").Append(i).Append('\n');
        }

        await writer.WriteAsync(Encoding.UTF8.GetBytes(rows.ToString()));
        await writer.FlushAsync();

        using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal((130, "", "cancelled: nothing was committed\n"), (process.ExitCode, await stdout, await stderr));
        Assert.Equal([fifo], _dir.Files());
    }

    /// <summary>
    /// The CLI started with SIGINT at its default action. A signal ignored when a process starts stays ignored (POSIX;
    /// .NET keeps it so, as shells ignore SIGINT in background jobs), and a test host launched from a backgrounded
    /// script passes that on: the CLI would then rightly never see the Ctrl+C this test sends. python3 resets it and
    /// execs the CLI, so the test asserts the CLI's handling whatever launched the suite.
    /// </summary>
    private static ProcessStartInfo WithSignalsAtDefault(ProcessStartInfo start)
    {
        var wrapped = new ProcessStartInfo("python3")
        {
            WorkingDirectory = start.WorkingDirectory,
            RedirectStandardOutput = start.RedirectStandardOutput,
            RedirectStandardError = start.RedirectStandardError,
            RedirectStandardInput = start.RedirectStandardInput,
            UseShellExecute = false,
        };
        foreach (var (key, value) in start.Environment)
        {
            wrapped.Environment[key] = value;
        }

        wrapped.ArgumentList.Add("-c");
        wrapped.ArgumentList.Add("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])");
        wrapped.ArgumentList.Add(start.FileName);
        foreach (var argument in start.ArgumentList)
        {
            wrapped.ArgumentList.Add(argument);
        }

        return wrapped;
    }
}
