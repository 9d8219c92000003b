using System.Diagnostics;

namespace EtlStream.Tests.Formats.Parquet;

/// <summary>
/// Public data no one here wrote, as a package on the npm registry ships it: <c>npm pack</c> into a cache folder
/// (once per machine), files extracted from the tarball on demand. vega-datasets (BSD-3-Clause, the Vega project;
/// the flights data are the US DOT's on-time statistics) ships <c>flights-3m.parquet</c> (3,000,000 rows, 5 columns),
/// <c>flights-200k.arrow</c> (an Arrow IPC file) and <c>flights-200k.json</c> (the same rows as JSON).
/// </summary>
internal static class NpmDataPackage
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    private static string Cache => Path.Combine(Path.GetTempPath(), "etlstream-tests-npm");

    /// <summary>The path of <paramref name="file"/> inside <paramref name="package"/>@<paramref name="version"/>, fetched and extracted if needed.</summary>
    public static async Task<string> FileAsync(string package, string version, string file)
    {
        var folder = Path.Combine(Cache, $"{package}-{version}");
        var path = Path.Combine(folder, "package", file);
        await Gate.WaitAsync();
        try
        {
            if (File.Exists(path))
            {
                return path;
            }

            Directory.CreateDirectory(folder);
            var tarball = Path.Combine(folder, $"{package}-{version}.tgz");
            if (!File.Exists(tarball))
            {
                await RunAsync(folder, "npm", "pack", $"{package}@{version}", "--silent");
            }

            await RunAsync(folder, "tar", "xzf", tarball, $"package/{file}");
            return path;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task RunAsync(string folder, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr} (the npm registry must be reachable for this test)");
        }
    }
}
