using System.Globalization;

namespace EtlStream.Sinks.Sql;

/// <summary>
/// Bounds every wait on a database server by the target's <c>timeout=</c> without bounding a statement. A publish that
/// rewrites a large table may run for an hour, and a COPY's or LOAD DATA's write may wait while the server works, so
/// neither gets a deadline of its own. Instead, while one is outstanding, a second connection asks the server a
/// trivial question every few seconds, each answer bounded by <c>timeout=</c>: a server that answers is working and the
/// wait goes on; one that does not (hung, partitioned away, or behind a proxy that stopped forwarding) fails the wait,
/// naming host:port, instead of the run waiting forever.
/// </summary>
internal sealed class ServerWatch(string server, int timeoutSeconds, Func<CancellationToken, Task> probe)
{
    /// <summary>The server as messages name it: <c>postgres host:port</c>.</summary>
    public string Server => server;

    public int TimeoutSeconds => timeoutSeconds;

    /// <summary>Runs <paramref name="work"/>, failing it when the server stops answering; <paramref name="doing"/> names the wait ("loading").</summary>
    public async Task RunAsync(string doing, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var task = work(stop.Token);
        if (task.IsCompleted)
        {
            await task.ConfigureAwait(false); // the common case for a write the socket buffer took: no timer, no probe
            return;
        }

        var interval = TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds / 2.0, 0.5, 5));
        while (true)
        {
            if (await Task.WhenAny(task, Task.Delay(interval, cancellationToken)).ConfigureAwait(false) == task)
            {
                await task.ConfigureAwait(false);
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (!await AnswersAsync(cancellationToken).ConfigureAwait(false))
            {
                await stop.CancelAsync().ConfigureAwait(false);

                // The cancelled work may itself be stuck on the dead connection: it gets timeout= to end, then is left
                // to the disposal of its connection.
                try
                {
                    await task.WaitAsync(TimeSpan.FromSeconds(timeoutSeconds), CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Observe(task); // its error is the server not answering, reported below
                }

                throw NoAnswer(doing);
            }
        }
    }

    /// <summary>The error for a wait that got no answer: <c>postgres host:port: no answer within 600 s while loading (timeout=600)</c>.</summary>
    public TimeoutException NoAnswer(string doing) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{server}: no answer within {timeoutSeconds} s while {doing} (timeout={timeoutSeconds})"));

    private async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        var answer = probe(deadline.Token);
        try
        {
            // WaitAsync too: a driver stuck in a socket call may not see its token.
            await answer.WaitAsync(deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OutOfMemoryException)
        {
            // No answer in time, or no connection at all: either way the server is not doing the work it was given.
            Observe(answer);
            return false;
        }
    }

    private static void Observe(Task task) => task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
}
