using System.Diagnostics;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Install;

/// <summary>
/// <c>scripts/install.sh</c>, the README's one install command, run as a user runs it but into a temp
/// <c>--tool-path</c> (never the machine's global tools): the packed tool installs, <c>etlstream</c> runs, loads a
/// file, and a second install replaces the first.
/// </summary>
public sealed class InstallScriptTests
{
    private static readonly string Script = Path.Combine(RepoPaths.Root, "scripts", "install.sh");

    [Fact]
    public async Task Install_puts_an_etlstream_that_loads_in_the_tool_path_and_names_the_path_to_add()
    {
        using var temp = new TempDirectory();
        var tools = temp.File("tools");

        // One pack per test run: the pack is the slow part (a Release build of the CLI).
        var (code, stdout, stderr) = await RunAsync("bash", RepoPaths.Root, Script, "--tool-path", tools);

        Assert.True(code == 0, stdout + stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^installed etlstream 0\.1\.0-local\.\d{{14}} in {System.Text.RegularExpressions.Regex.Escape(tools)}$", lines[0]);
        Assert.Equal($"{tools} is not on your PATH: add it, e.g. echo 'export PATH=\"$PATH:{tools}\"' >> ~/.bashrc, then open a new shell", lines[1]);

        var etlstream = Path.Combine(tools, "etlstream");
        var help = await RunAsync(etlstream, temp.Path, "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Usage:\n  etlstream [command] [options]", help.Out, StringComparison.Ordinal);

        await File.WriteAllTextAsync(temp.File("regions.csv"), "id,name\n1,north\n2,south\n3,east\n");
        var load = await RunAsync(etlstream, temp.Path, "load", "regions.csv", "--to", "parquet:regions.parquet", "--no-progress");
        Assert.True(load.ExitCode == 0, load.Out + load.Err);
        Assert.StartsWith("loaded 3 rows into table regions (3 read) from 1 file in ", load.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.File("regions.parquet")));
    }

    [Fact]
    public async Task Install_with_an_unknown_argument_prints_its_usage_and_exits_2()
    {
        var (code, stdout, stderr) = await RunAsync("bash", RepoPaths.Root, Script, "--global");

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("usage: scripts/install.sh [--tool-path DIR]\n", stderr);
    }

    private static async Task<(int ExitCode, string Out, string Err)> RunAsync(string program, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(6));
        return (process.ExitCode, await stdout, await stderr);
    }
}
