"""The ensemble TA strategy: five sub-strategies voting on 15m and 5m bars, sized, limited and exited by rule."""
