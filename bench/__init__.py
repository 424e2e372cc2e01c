"""`make bench`: the project's relay against the original article's serial loop, in the offline emulator.

What it measures, per (mode, model rate, post latency L) cell, over several repetitions (medians reported):
  first_frame_ms  client's first delta - the stand-in's first chunk
  overhead_ms     client's last delta - the stand-in's last chunk (completion overhead; target <= 1.6 L + 5 ms)
  frames          delta frames the client received (the serial loop posts one per delta)
  handler_ms      the streaming invocation's duration (the emulator's REPORT line: StreamReply's, or the article's
                  synchronous SendText's)
plus the Lambda zip's size, the cold import time of the SendText module, and the emulator's own per-frame
overhead (HTTP POST to @connections -> frame at the WebSocket client, L = 0).

Run: `make bench` (a 96-token reply; 9 repetitions per relay cell, 3 per serial cell, whose one post per delta
barely varies: about 4 minutes on 2 cores), `make bench FULL=1` (the 1024-token reply, about 25 minutes). The
relay's completion overhead is L plus what remains of the post in flight, anywhere from 0 to L depending on where
in the post cycle the reply ends; so each repetition nudges the stand-in's rate (by at most L/2 over the stream,
a few percent for most cells) to end its stream at an evenly spread point of one cycle, and the median is the cycle's
middle. Prints a table and writes bench/results.json.

First, the time-to-first-frame section (bench/first_frame.py, writes bench/first_frame.json): the article's
synchronous handler against the asynchronous path that ships, warm and cold. `make bench SECTION=first-frame` runs
only it (about a minute); `SECTION=relay` only the cells above. Then frame pacing (bench/pacing.py, writes
bench/pacing.json): posts per second per reply at FrameIntervalMs 0 and the default; `SECTION=pacing` only it.
"""
