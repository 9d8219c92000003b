using System.Diagnostics;

namespace EtlStream.Tests.Support;

/// <summary>Starts the CLI again and again and kills it with SIGKILL at random moments: no finally block, flush or rollback runs.</summary>
internal static class CrashLoop
{
    /// <summary>
    /// Runs <c>etlstream <paramref name="args"/></c> <paramref name="iterations"/> times, each killed after a random
    /// delay in [<paramref name="minDelayMs"/>, <paramref name="maxDelayMs"/>) unless it finished first, then calls
    /// <paramref name="afterEach"/>. Returns how many runs were killed before they finished.
    /// </summary>
    public static async Task<int> KillRepeatedlyAsync(string workingDirectory, string[] args, int iterations, int seed, int minDelayMs, int maxDelayMs, Func<Task> afterEach)
    {
        var random = new Random(seed);
        var killed = 0;
        for (var i = 0; i < iterations; i++)
        {
            using var process = Start(workingDirectory, args);
            await Task.Delay(random.Next(minDelayMs, maxDelayMs));
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                killed++;
            }

            await process.WaitForExitAsync();
            await afterEach();
        }

        return killed;
    }

    private static Process Start(string workingDirectory, string[] args)
    {
        var process = Process.Start(CliProcess.StartInfo(workingDirectory, args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
